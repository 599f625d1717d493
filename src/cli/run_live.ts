/**
 * Live mode, SoftEther Alert 1.00's way: list the capture devices, take the
 * device number from the command line or ask `Device ID>`, print
 * `Starting Capture Packets at [<description>].`, capture until Ctrl-C
 * (or SIGTERM), then print a summary with the kernel's drop counters.
 * SIGHUP reopens the log files (logrotate).
 *
 * @module
 */

import { BatchSource } from "../capture/batch_source.ts";
import { LiveCapture } from "../capture/live.ts";
import type { SoftEtherTcpDetector } from "../detect/softether_tcp_detector.ts";
import type { AlertSink } from "../output/sink.ts";
import type { Pipeline } from "../pipeline.ts";
import { deviceLabel, listDevices } from "../../ffi/devices.ts";
import type { Options } from "./args.ts";
import { chooseDevice, formatDeviceList } from "./device_chooser.ts";
import { statusLine, summary } from "./summary.ts";

/** The numbered device list (`--list`). */
export function listDevicesText(): string {
  return formatDeviceList(listDevices()).trimEnd();
}

function onSignal(sig: Deno.Signal, fn: () => void): () => void {
  try {
    Deno.addSignalListener(sig, fn);
    return () => Deno.removeSignalListener(sig, fn);
  } catch {
    return () => {}; // signal not supported on this OS (SIGHUP on Windows)
  }
}

/** Capture live until stopped; returns the exit code. */
export async function runLive(
  opts: Options,
  pipeline: Pipeline,
  classifier: SoftEtherTcpDetector,
  sinks: AlertSink,
  onReopen?: () => void,
): Promise<number> {
  const devices = listDevices();
  const device = await chooseDevice(devices, opts.device);
  const label = deviceLabel(device);
  const capture = await LiveCapture.open({
    device: device.name,
    label,
    snaplen: opts.snaplen,
    promisc: opts.promisc,
    bufferSize: opts.bufferMiB * 1024 * 1024,
    filter: opts.filter,
  });
  console.log(`Starting Capture Packets at [${label}].`);
  if (capture.warning) console.error(`sealert: warning: ${capture.warning}`);

  const started = performance.now();
  let stopping = false;
  const stop = () => {
    if (!stopping) console.error("\nsealert: stopping…");
    stopping = true;
    capture.stop();
  };
  const offInt = onSignal("SIGINT", stop);
  const offTerm = onSignal("SIGTERM", stop);
  const offHup = onSignal("SIGHUP", () => {
    try {
      sinks.reopen();
      onReopen?.();
      console.error("sealert: log files reopened");
    } catch (e) {
      console.error(`sealert: ${(e as Error).message}`);
    }
  });
  // Decisions that wait for time to pass (e.g. 1 s after a welcome) must not
  // wait for the next packet when the link goes quiet: advance packet time by
  // the wall clock since the last packet.
  let lastPackets = -1, lastWall = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    if (pipeline.packets !== lastPackets) {
      lastPackets = pipeline.packets;
      lastWall = now;
      return;
    }
    pipeline.tick(pipeline.flows.now + (now - lastWall) / 1000);
  }, 200);
  const status = opts.statusInterval > 0
    ? setInterval(() => {
      const s = capture.stats();
      console.error(
        `sealert: ${
          statusLine(pipeline, classifier, { dropped: s.dropped, ifDropped: s.ifDropped })
        }`,
      );
    }, opts.statusInterval * 1000)
    : undefined;

  try {
    await pipeline.run(new BatchSource(capture));
  } finally {
    clearInterval(tick);
    if (status !== undefined) clearInterval(status);
    offInt();
    offTerm();
    offHup();
  }
  const final = await capture.close();
  pipeline.finish();
  sinks.flush();
  console.error(
    summary(pipeline, classifier, (performance.now() - started) / 1000, {
      dropped: final.dropped,
      ifDropped: final.ifDropped,
    }),
  );
  return 0;
}
