import Foundation

/// Reads a file's C2PA manifest store through the reference implementation.
public enum C2PAReader {
    /// The manifest store of `path` as c2pa-rs reports it (JSON: manifests, validation
    /// results), or nil when the file carries none. `format` is a MIME type or extension
    /// hint; the library goes by the bytes when they say otherwise.
    public static func manifestStoreJSON(path: String, format: String, library: C2PALibrary? = nil) throws -> String? {
        let library = try library ?? C2PALibrary.shared()
        let stream = try C2PAStream(library: library, path: path, writable: false)
        guard let reader = format.withCString({ library.readerFromStream($0, stream.handle) }) else {
            let error = library.lastError(or: "")
            // No manifest, or a container the library cannot look into: both mean none to keep.
            if error.contains("ManifestNotFound") || error.contains("JumbfNotFound") || error.contains("UnsupportedType")
                || error.lowercased().contains("no manifest") || error.lowercased().contains("not found") || error.lowercased().contains("unsupported") {
                return nil
            }
            throw C2PAError(.library, "C2PA: the manifest of '\(path)' cannot be read: \(error)")
        }
        defer { library.readerFree(reader) }
        return library.takeString(library.readerJSON(reader))
    }
}
