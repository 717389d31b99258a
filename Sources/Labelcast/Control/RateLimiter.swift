import Foundation
import Synchronization

/// Token buckets, one per key (a client address, or one shared key): `rate` tokens a second up
/// to `burst`; a call that finds less than one token is refused. Thread-safe; O(1) a call, and
/// the table is pruned of full buckets when it grows past `maxKeys`, so a client cycling
/// through source ports or addresses cannot grow it without bound.
final class RateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var last: Double }
    private let buckets = Mutex<[String: Bucket]>([:])
    private let rate: Double
    private let burst: Double
    private let maxKeys = 4096

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Takes one token for `key`; returns nil when allowed, or the seconds until a token is due.
    func take(_ key: String, now: Double = ProcessInfo.processInfo.systemUptime) -> Double? {
        buckets.withLock { table in
            if table.count >= maxKeys {
                table = table.filter { min(burst, $0.value.tokens + (now - $0.value.last) * rate) < burst }
                if table.count >= maxKeys { table.removeAll(keepingCapacity: true) }
            }
            var b = table[key] ?? Bucket(tokens: burst, last: now)
            b.tokens = min(burst, b.tokens + (now - b.last) * rate)
            b.last = now
            defer { table[key] = b }
            guard b.tokens >= 1 else { return (1 - b.tokens) / rate }
            b.tokens -= 1
            return nil
        }
    }
}
