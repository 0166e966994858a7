import { cpus, loadavg, totalmem, release, platform } from 'node:os';

/** What every results file records about where it was measured. */
export function machineInfo(): Record<string, unknown> {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
    // Other work on the machine skews every figure: a 1-minute load average well above 0 at the
    // start of a run says the machine was not quiet.
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
}
