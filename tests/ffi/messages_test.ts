import assert from "node:assert/strict";
import {
  activateErrorMessage,
  activateWarningMessage,
  cText,
  filterErrorMessage,
  findAllDevsErrorMessage,
  oneLine,
  PcapStatus,
} from "../../ffi/messages.ts";

const NPCAP_ADMIN =
  "run as Administrator or reinstall Npcap without 'Restrict Npcap driver's access to Administrators only'";

Deno.test("permission denied: root/capabilities on Linux, Npcap admin-only on Windows", () => {
  assert.equal(
    activateErrorMessage(
      "linux",
      "eth0",
      PcapStatus.ERROR_PERM_DENIED,
      "socket: Operation not permitted",
    ),
    'Cannot open device "eth0": permission denied (run as root or grant CAP_NET_RAW,CAP_NET_ADMIN)',
  );
  assert.equal(
    activateErrorMessage("windows", "Ethernet", PcapStatus.ERROR_PERM_DENIED, ""),
    `Cannot open device "Ethernet": permission denied (${NPCAP_ADMIN})`,
  );
  assert.match(
    activateErrorMessage("darwin", "en0", PcapStatus.ERROR_PERM_DENIED, ""),
    /permission denied \(run as root or give your user read access to \/dev\/bpf\*\)$/,
  );
  assert.match(
    activateErrorMessage("linux", "eth0", PcapStatus.ERROR_PROMISC_PERM_DENIED, ""),
    /promiscuous mode: permission denied \(run as root/,
  );
});

Deno.test("no such device, interface down, generic errors", () => {
  assert.equal(
    activateErrorMessage(
      "linux",
      "x",
      PcapStatus.ERROR_NO_SUCH_DEVICE,
      "SIOCGIFINDEX: No such device",
    ),
    'No such capture device "x"',
  );
  assert.match(
    activateErrorMessage("linux", "eth1", PcapStatus.ERROR_IFACE_NOT_UP, ""),
    /^Cannot open device "eth1": the interface is down/,
  );
  assert.equal(
    activateErrorMessage("linux", "eth0", PcapStatus.ERROR, "some\nmulti-line\n  text "),
    'Cannot open device "eth0": some multi-line text',
  );
  assert.equal(
    activateErrorMessage("linux", "eth0", PcapStatus.ERROR_RFMON_NOTSUP, ""),
    'Cannot open device "eth0": libpcap error -6',
  );
  assert.equal(
    activateErrorMessage(
      "windows",
      "Wi-Fi",
      PcapStatus.ERROR,
      "Error opening adapter: Access is denied. (5)",
    ),
    `Cannot open device "Wi-Fi": Error opening adapter: Access is denied. (5) (${NPCAP_ADMIN})`,
  );
});

Deno.test("pcap_findalldevs failure: Npcap admin-only hint on Windows access errors", () => {
  assert.equal(
    findAllDevsErrorMessage("windows", "PacketGetAdapterNames: Access is denied. (5)"),
    `Cannot list capture devices: PacketGetAdapterNames: Access is denied. (5) (${NPCAP_ADMIN})`,
  );
  assert.equal(
    findAllDevsErrorMessage("linux", "socket: Address family not supported"),
    "Cannot list capture devices: socket: Address family not supported",
  );
  assert.equal(findAllDevsErrorMessage("linux", ""), "Cannot list capture devices: unknown error");
});

Deno.test("warnings and filter errors are one line", () => {
  assert.equal(
    activateWarningMessage("wlan0", PcapStatus.WARNING_PROMISC_NOTSUP, ""),
    'Device "wlan0" does not support promiscuous mode',
  );
  assert.equal(
    filterErrorMessage("tcp\nport", "can't parse filter expression: syntax error"),
    'Invalid capture filter "tcp port": can\'t parse filter expression: syntax error',
  );
  assert.equal(oneLine("  a \r\n b\t"), "a b");
  assert.equal(cText(new TextEncoder().encode("err text\0garbage")), "err text");
  assert.equal(cText(new TextEncoder().encode("no nul")), "no nul");
});
