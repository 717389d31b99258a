import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The C2PA reference implementation (c2pa-rs) through its C API, `libc2pa_c.so`, loaded at
/// run time with `dlopen`: the Swift build does not depend on it, and a run that does not
/// sign never loads it. The library ships in the PyPI wheel `c2pa-python` (no header: the
/// signatures below follow c2pa-rs `c2pa_c_ffi`); `make deps` installs it under `.deps/c2pa`.
///
/// Where it is looked for, first hit wins: `$LABELCAST_C2PA_LIB`; `.deps/c2pa/c2pa/libs/`
/// in the folder of the running executable or any folder above it (a checkout's
/// `.build/debug/labelcast` finds the checkout's `.deps`); the same above the working
/// directory; then the loader's own search path (`libc2pa_c.so`).
///
/// The C functions are thread-safe; the last error is kept per thread (`c2pa_error`).
public final class C2PALibrary: @unchecked Sendable {
    // Opaque handles are raw pointers: nothing on this side looks inside them.
    typealias ReadFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int) -> Int
    typealias SeekFn = @convention(c) (UnsafeMutableRawPointer?, Int, Int32) -> Int
    typealias WriteFn = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> Int
    typealias FlushFn = @convention(c) (UnsafeMutableRawPointer?) -> Int

    /// `C2paSignerInfo`: four C strings (alg, certificate chain PEM, private key PEM, TSA URL).
    struct SignerInfo {
        var alg: UnsafePointer<CChar>?
        var signCert: UnsafePointer<CChar>?
        var privateKey: UnsafePointer<CChar>?
        var taURL: UnsafePointer<CChar>?
    }

    let version: @convention(c) () -> UnsafeMutablePointer<CChar>?
    let error: @convention(c) () -> UnsafeMutablePointer<CChar>?
    let stringFree: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void
    let createStream: @convention(c) (UnsafeMutableRawPointer?, ReadFn, SeekFn, WriteFn, FlushFn) -> UnsafeMutableRawPointer?
    let releaseStream: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let signerFromInfo: @convention(c) (UnsafeRawPointer?) -> UnsafeMutableRawPointer?
    let signerFree: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let builderFromJSON: @convention(c) (UnsafePointer<CChar>?) -> UnsafeMutableRawPointer?
    let builderFree: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let builderAddIngredient: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32
    let builderSign: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                      UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64
    let signerReserveSize: @convention(c) (UnsafeMutableRawPointer?) -> Int64
    let builderDataHashedPlaceholder: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64
    let builderSignDataHashed: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
                                                UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64
    let manifestBytesFree: @convention(c) (UnsafePointer<UInt8>?) -> Void
    let readerFromStream: @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    let readerJSON: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>?
    let readerFree: @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// Where the library was loaded from.
    public let path: String
    private let handle: UnsafeMutableRawPointer

    /// The library, loaded once per process on first use.
    public static func shared() throws -> C2PALibrary {
        try loaded.get()
    }

    private static let loaded: Result<C2PALibrary, C2PAError> = Result { try C2PALibrary() }.mapError {
        $0 as? C2PAError ?? C2PAError(.libraryUnavailable, "\($0)")
    }

    /// The places `shared()` tries, in order.
    public static func candidatePaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        if let explicit = environment["LABELCAST_C2PA_LIB"], !explicit.isEmpty { return [explicit] }
        let relative = ".deps/c2pa/c2pa/libs/libc2pa_c.so"
        var paths: [String] = []
        var starts: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append((exe as NSString).deletingLastPathComponent)
        }
        starts.append(FileManager.default.currentDirectoryPath)
        for start in starts {
            var dir = start
            while true {
                paths.append(dir + "/" + relative)
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir || parent.isEmpty { break }
                dir = parent
            }
        }
        return paths
    }

    private init() throws {
        let explicit = ProcessInfo.processInfo.environment["LABELCAST_C2PA_LIB"].flatMap { $0.isEmpty ? nil : $0 }
        var found: (UnsafeMutableRawPointer, String)?
        var lastError = ""
        for candidate in Self.candidatePaths() where explicit != nil || FileManager.default.fileExists(atPath: candidate) {
            if let h = dlopen(candidate, RTLD_NOW | RTLD_LOCAL) { found = (h, candidate); break }
            lastError = dlerror().map { String(cString: $0) } ?? ""
        }
        if found == nil, explicit == nil, let h = dlopen("libc2pa_c.so", RTLD_NOW | RTLD_LOCAL) { found = (h, "libc2pa_c.so") }
        guard let (handle, path) = found else {
            if let explicit {
                throw C2PAError(.libraryUnavailable, "LABELCAST_C2PA_LIB '\(explicit)' cannot be loaded (\(lastError)): point it at libc2pa_c.so from the c2pa-python wheel")
            }
            throw C2PAError(.libraryUnavailable, "the C2PA library libc2pa_c.so was not found: run `make deps` (installs c2pa-python into .deps/c2pa) or set LABELCAST_C2PA_LIB")
        }
        self.handle = handle
        self.path = path
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            guard let s = dlsym(handle, name) else {
                throw C2PAError(.libraryUnavailable, "\(path) has no \(name): use the c2pa-python version `make deps` installs")
            }
            return unsafeBitCast(s, to: T.self)
        }
        version = try symbol("c2pa_version", (@convention(c) () -> UnsafeMutablePointer<CChar>?).self)
        error = try symbol("c2pa_error", (@convention(c) () -> UnsafeMutablePointer<CChar>?).self)
        stringFree = try symbol("c2pa_string_free", (@convention(c) (UnsafeMutablePointer<CChar>?) -> Void).self)
        createStream = try symbol("c2pa_create_stream", (@convention(c) (UnsafeMutableRawPointer?, ReadFn, SeekFn, WriteFn, FlushFn) -> UnsafeMutableRawPointer?).self)
        releaseStream = try symbol("c2pa_release_stream", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        signerFromInfo = try symbol("c2pa_signer_from_info", (@convention(c) (UnsafeRawPointer?) -> UnsafeMutableRawPointer?).self)
        signerFree = try symbol("c2pa_signer_free", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        builderFromJSON = try symbol("c2pa_builder_from_json", (@convention(c) (UnsafePointer<CChar>?) -> UnsafeMutableRawPointer?).self)
        builderFree = try symbol("c2pa_builder_free", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        builderAddIngredient = try symbol("c2pa_builder_add_ingredient_from_stream",
                                          (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32).self)
        builderSign = try symbol("c2pa_builder_sign", (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                                                       UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64).self)
        signerReserveSize = try symbol("c2pa_signer_reserve_size", (@convention(c) (UnsafeMutableRawPointer?) -> Int64).self)
        builderDataHashedPlaceholder = try symbol("c2pa_builder_data_hashed_placeholder",
                                                  (@convention(c) (UnsafeMutableRawPointer?, Int, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64).self)
        builderSignDataHashed = try symbol("c2pa_builder_sign_data_hashed_embeddable",
                                           (@convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
                                                            UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Int64).self)
        manifestBytesFree = try symbol("c2pa_manifest_bytes_free", (@convention(c) (UnsafePointer<UInt8>?) -> Void).self)
        readerFromStream = try symbol("c2pa_reader_from_stream", (@convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?).self)
        readerJSON = try symbol("c2pa_reader_json", (@convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>?).self)
        readerFree = try symbol("c2pa_reader_free", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
    }

    /// The c2pa-rs version, e.g. "0.91.3".
    public var versionString: String { takeString(version()) ?? "unknown" }

    /// The calling thread's last error from the library ("Kind: text"), or a fallback.
    func lastError(or fallback: String) -> String {
        let text = takeString(error()) ?? ""
        return text.isEmpty ? fallback : text
    }

    /// Copies and frees a string the library handed over.
    func takeString(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        defer { stringFree(p) }
        return String(cString: p)
    }
}
