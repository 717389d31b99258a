import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Signs files with a C2PA manifest through the reference implementation: the manifest is
/// built from a manifest-definition JSON, hard-bound to the file's bytes (BMFF files get
/// `c2pa.hash.bmff.v3`, others the hash their C2PA embedding defines), signed with the
/// credentials, embedded, and verified again by the library before `sign` returns.
///
/// `init` signs a small WAV in memory: a certificate that has expired, is not the key's, is
/// only a CA, or lacks a C2PA-acceptable key usage fails there, before any media work, with
/// the same checks the real signing makes. Cost: one signature (~10-50 ms).
public final class C2PASigner: @unchecked Sendable {
    public let credentials: SigningCredentials
    private let library: C2PALibrary
    private let handle: UnsafeMutableRawPointer

    /// The RFC 3161 time-stamping authority each signature is countersigned by, if any.
    public let timestampURL: String?

    /// `timestampURL`: an RFC 3161 TSA (`http(s)://…`); every signature then carries its
    /// time-stamp token (the probe signature included, so a TSA that does not answer is an
    /// error here, before any media work).
    public init(credentials: SigningCredentials, timestampURL: String? = nil, library: C2PALibrary? = nil) throws {
        let library = try library ?? C2PALibrary.shared()
        self.library = library
        self.credentials = credentials
        self.timestampURL = timestampURL
        let made: UnsafeMutableRawPointer? = credentials.algorithm.rawValue.withCString { alg in
            credentials.certificatePEM.withCString { cert in
                credentials.keyPEM.withCString { key in
                    Self.withOptionalCString(timestampURL) { tsa in
                        var info = C2PALibrary.SignerInfo(alg: alg, signCert: cert, privateKey: key, taURL: tsa)
                        return withUnsafePointer(to: &info) { library.signerFromInfo(UnsafeRawPointer($0)) }
                    }
                }
            }
        }
        guard let made else {
            throw Self.explain(library.lastError(or: "the signer could not be made"), credentials, tsa: timestampURL)
        }
        handle = made
        try probe()
    }

    deinit { library.signerFree(handle) }

    private static func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let s else { return body(nil) }
        return s.withCString { body($0) }
    }

    /// The library's version, for the report and the claim generator.
    public var libraryVersion: String { library.versionString }

    /// Signs `source` (a complete media file of MIME type `format`) into `destination` with
    /// the manifest `definition` (c2pa-rs manifest-definition JSON). `ingredient`, when given,
    /// is read from its file (with its own manifest, if it has one) and added with its JSON
    /// (relationship, label). Returns the manifest store's bytes.
    @discardableResult
    public func sign(source: String, destination: String, format: String, definition: String,
                     ingredient: (json: String, format: String, path: String)? = nil) throws -> [UInt8] {
        let input = try C2PAStream(library: library, path: source, writable: false)
        let output = try C2PAStream(library: library, path: destination, writable: true)
        let ingredientStream = try ingredient.map { try C2PAStream(library: library, path: $0.path, writable: false) }
        return try sign(input: input, output: output, format: format, definition: definition,
                        ingredient: ingredient.map { ($0.json, $0.format) }, ingredientStream: ingredientStream)
    }

    /// Signs `bytes` (a whole asset of MIME type `format`, in memory) with the manifest
    /// `definition`; returns the signed asset and the manifest store's bytes. For the init
    /// segments of a segmented output, whose definition carries its own hard binding
    /// (`FragmentedBMFF.assertionData`): the library keeps that assertion as it is, embeds the
    /// manifest and signs.
    public func sign(bytes: [UInt8], format: String, definition: String,
                     ingredient: (json: String, format: String, path: String)? = nil) throws -> (asset: [UInt8], store: [UInt8]) {
        let input = try C2PAStream(library: library, bytes: bytes)
        let output = try C2PAStream(library: library, bytes: [])
        let ingredientStream = try ingredient.map { try C2PAStream(library: library, path: $0.path, writable: false) }
        let store = try sign(input: input, output: output, format: format, definition: definition,
                             ingredient: ingredient.map { ($0.json, $0.format) }, ingredientStream: ingredientStream)
        return (output.bytes, store)
    }

    private func sign(input: C2PAStream, output: C2PAStream, format: String, definition: String,
                      ingredient: (json: String, format: String)?, ingredientStream: C2PAStream?) throws -> [UInt8] {
        let builder = try makeBuilder(definition: definition, ingredient: ingredient, ingredientStream: ingredientStream)
        defer { library.builderFree(builder) }
        var manifest: UnsafePointer<UInt8>? = nil
        let size = format.withCString { library.builderSign(builder, $0, input.handle, output.handle, handle, &manifest) }
        guard size >= 0 else {
            throw Self.explain(library.lastError(or: "c2pa_builder_sign failed"), credentials, tsa: timestampURL)
        }
        defer { if let manifest { library.manifestBytesFree(manifest) } }
        return manifest.map { [UInt8](UnsafeBufferPointer(start: $0, count: Int(size))) } ?? []
    }

    /// A sidecar manifest store (`.c2pa`) for `asset`, a file whose container has no C2PA
    /// embedding: hard-bound by `c2pa.hash.data` over all of the file's bytes (the library
    /// hashes it), the file itself left as it is. Returns the store's bytes; a verifier reads
    /// them with the file (c2pa-python: `Reader(format, stream, manifest_data)`).
    public func signSidecar(asset: String, definition: String, ingredient: (json: String, format: String, path: String)? = nil) throws -> [UInt8] {
        let stream = try C2PAStream(library: library, path: asset, writable: false)
        let ingredientStream = try ingredient.map { try C2PAStream(library: library, path: $0.path, writable: false) }
        let builder = try makeBuilder(definition: definition, ingredient: ingredient.map { ($0.json, $0.format) }, ingredientStream: ingredientStream)
        defer { library.builderFree(builder) }
        let store = "application/c2pa"
        var placeholder: UnsafePointer<UInt8>? = nil
        let reserve = Int(max(0, library.signerReserveSize(handle)))
        guard store.withCString({ library.builderDataHashedPlaceholder(builder, reserve, $0, &placeholder) }) >= 0 else {
            throw Self.explain(library.lastError(or: "c2pa_builder_data_hashed_placeholder failed"), credentials, tsa: timestampURL)
        }
        if let placeholder { library.manifestBytesFree(placeholder) }
        // No exclusions and no hash given: the library hashes the whole stream itself.
        let dataHash = #"{"exclusions":[],"name":"jumbf manifest","alg":"sha256","hash":"","pad":[]}"#
        var manifest: UnsafePointer<UInt8>? = nil
        let size = dataHash.withCString { d in store.withCString { f in library.builderSignDataHashed(builder, handle, d, f, stream.handle, &manifest) } }
        guard size >= 0 else { throw Self.explain(library.lastError(or: "c2pa_builder_sign_data_hashed_embeddable failed"), credentials, tsa: timestampURL) }
        defer { if let manifest { library.manifestBytesFree(manifest) } }
        return manifest.map { [UInt8](UnsafeBufferPointer(start: $0, count: Int(size))) } ?? []
    }

    private func makeBuilder(definition: String, ingredient: (json: String, format: String)?, ingredientStream: C2PAStream?) throws -> UnsafeMutableRawPointer {
        guard let builder = definition.withCString({ library.builderFromJSON($0) }) else {
            throw C2PAError(.library, "C2PA manifest definition rejected: \(library.lastError(or: "c2pa_builder_from_json failed"))")
        }
        if let ingredient, let ingredientStream {
            let r = ingredient.json.withCString { j in ingredient.format.withCString { f in library.builderAddIngredient(builder, j, f, ingredientStream.handle) } }
            guard r == 0 else {
                library.builderFree(builder)
                throw C2PAError(.library, "C2PA: the input could not be read as an ingredient: \(library.lastError(or: "c2pa_builder_add_ingredient_from_stream failed"))")
            }
        }
        return builder
    }

    /// Signs a 1 ms silent WAV in memory: every check the library makes on the credentials.
    private func probe() throws {
        var wav: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { wav += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { wav += $0 } }
        let samples = 8
        wav += Array("RIFF".utf8); u32(UInt32(36 + samples * 2)); wav += Array("WAVE".utf8)
        wav += Array("fmt ".utf8); u32(16); u16(1); u16(1); u32(8000); u32(16000); u16(2); u16(16)
        wav += Array("data".utf8); u32(UInt32(samples * 2)); wav += [UInt8](repeating: 0, count: samples * 2)
        let definition = #"{"claim_generator_info":[{"name":"labelcast credential check"}],"title":"probe.wav","assertions":[{"label":"c2pa.actions.v2","data":{"actions":[{"action":"c2pa.created","digitalSourceType":"http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"}]}}]}"#
        let input = try C2PAStream(library: library, bytes: wav)
        let output = try C2PAStream(library: library, bytes: [])
        _ = try sign(input: input, output: output, format: "audio/wav", definition: definition, ingredient: nil, ingredientStream: nil)
    }

    /// The library's error in words that name the file to fix.
    static func explain(_ raw: String, _ c: SigningCredentials, tsa: String? = nil) -> C2PAError {
        var text = c.redacting(raw).replacingOccurrences(of: "\n", with: " ")
        let cert = "--c2pa-cert '\(c.certificatePath)'", key = "--c2pa-key '\(c.keyPath)'"
        let lower = text.lowercased()
        let message: String
        if let tsa, lower.contains("http resolver") || lower.contains("service responded") || lower.contains("timestamp")
            || lower.contains("time stamp") || lower.contains("time-stamp") {
            let reason = text.replacingOccurrences(of: "Signature: internal error ", with: "")
            return C2PAError(.credentials, "--c2pa-tsa '\(tsa)' gave no time-stamp \(reason): check the URL and that it is an RFC 3161 time-stamping authority that answers now")
        } else if lower.contains("does not match the provided data or public key") {
            message = "\(key) is not the key of the first certificate in \(cert): the chain must start with the signer's own certificate (then its issuers), and the key must be that certificate's"
        } else if lower.contains("not valid at time of signing") {
            message = "\(cert): the signing certificate has expired or is not valid yet: renew it (or check the clock)"
        } else if lower.contains("self-signed") {
            message = "\(cert) holds no signer certificate, only a self-signed (CA) one: put the signer's end-entity certificate first, then its issuers"
        } else if lower.contains("certificate is invalid") || lower.contains("certificate profile") {
            message = "\(cert): the signing certificate is not valid for C2PA: it must not be a CA and needs keyUsage digitalSignature and an extendedKeyUsage C2PA accepts (emailProtection, documentSigning, …)"
        } else if lower.contains("does not contain signing certificate") {
            message = "\(cert) holds no readable certificate: give the signer's PEM certificate chain"
        } else if lower.contains("invalid signing credentials") || lower.contains("private key") {
            message = "\(key) cannot sign (\(text)): give the PEM private key of the first certificate in \(cert)"
        } else {
            return C2PAError(.library, "C2PA signing with \(cert) and \(key) failed: \(text)")
        }
        return C2PAError(.credentials, message)
    }
}
