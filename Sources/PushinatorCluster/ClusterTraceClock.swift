#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock of the cluster's debug-level trace (`cluster trace` lines): microseconds of `CLOCK_MONOTONIC`, the
/// same in every process of a machine, so that the lines of two nodes on one machine can be put side by side
/// (a message's publish on one node, its notification's arrival on the other). `Benchmarks/Cluster/trace.py` reads
/// them.
public enum ClusterTraceClock {
    /// Now, in microseconds of `CLOCK_MONOTONIC`.
    public static var microseconds: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }
}
