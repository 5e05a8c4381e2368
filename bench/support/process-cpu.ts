import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time (ms, user + system) of a process from /proc (Linux); 0 when it is gone or elsewhere. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Every process on the machine whose command name is `name` (`postgres`, `redis-server`). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
}

/** CPU time (ms) of each kind of process now, and of this process as `load generator`. */
export function cpuByKind(kinds: Array<[kind: string, pids: number[]]>): Record<string, number> {
  const times: Record<string, number> = Object.fromEntries(kinds.map(([kind, pids]) => [kind, pids.reduce((sum, pid) => sum + processCpuMs(pid), 0)]));
  const self = process.cpuUsage();
  times['load generator'] = (self.user + self.system) / 1000;
  return times;
}
