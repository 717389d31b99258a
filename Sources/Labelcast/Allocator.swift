import CFFmpeg
import Foundation

/// How the process's allocator is set for a long run (glibc's malloc). Process-wide, so the
/// `labelcast` command applies it at start-up and a program using the library decides for itself.
public enum Allocator {
    /// The fixed mmap threshold `fixMmapThreshold()` sets: blocks of this size and larger
    /// (a picture buffer, an encoder's lookahead) are mapped on their own and unmapped when freed.
    public static let mmapThreshold = 128 * 1024

    /// Turns off glibc's sliding mmap threshold (see `lc_malloc_fix_mmap_threshold`): with
    /// copying, a live run opens a fresh encoder for each re-encoded stretch and frees it after;
    /// with the sliding threshold each freed encoder's buffers pushed the threshold up, the next
    /// encoder's buffers came from the heap arenas, and the process grew by ~1 MB a minute
    /// (the soak's check 5). Left alone when the environment already sets malloc's tunables
    /// (`GLIBC_TUNABLES` with a `glibc.malloc.` entry, `MALLOC_MMAP_THRESHOLD_`): the operator's choice
    /// stands. Returns whether it was applied.
    @discardableResult
    public static func fixMmapThreshold(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if environment["MALLOC_MMAP_THRESHOLD_"] != nil { return false }
        if let tunables = environment["GLIBC_TUNABLES"], tunables.contains("glibc.malloc.") { return false }
        return lc_malloc_fix_mmap_threshold(Int32(mmapThreshold)) == 1
    }
}
