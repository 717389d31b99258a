import Testing
@testable import AudioMark

@Suite struct WatermarkKeyTests {
    @Test func rejectsShortSecrets() {
        #expect(throws: WatermarkError.keyTooShort(byteCount: 0)) { try WatermarkKey(secret: []) }
        #expect(throws: WatermarkError.keyTooShort(byteCount: 7)) { try WatermarkKey(secret: Array("1234567".utf8)) }
        #expect(WatermarkError.keyTooShort(byteCount: 3).description.contains("at least 8 bytes"))
        #expect((try? WatermarkKey(secret: Array("12345678".utf8))) != nil)
    }

    @Test func derivationsDependOnKeyAndPurpose() throws {
        let a = try WatermarkKey(secret: Array("secret-a-secret-a".utf8))
        let b = try WatermarkKey(secret: Array("secret-b-secret-b".utf8))
        #expect(a.derive("layout") != b.derive("layout"))
        #expect(a.derive("layout") != a.derive("crc-mask"))
        #expect(a.derive("layout") == a.derive("layout"))
        #expect(MarkLayout(key: a).pairSign != MarkLayout(key: b).pairSign)
        #expect(WatermarkKey.demo.secret.count >= WatermarkKey.minimumLength)
    }

    @Test func layoutIsConsistent() {
        let l = MarkLayout(key: .demo)
        #expect(l.syncSlotList.count == MarkGrid.syncSlots)
        #expect(Set(l.syncSlotList).count == MarkGrid.syncSlots)
        #expect(l.codedIndex.count == MarkGrid.groupSlots && MarkGrid.groupSlots == 384)
        // Every coded bit once, 25 of them twice (244 data slots, 219 coded bits).
        let data = l.codedIndex.filter { $0 >= 0 }.map(Int.init)
        #expect(data.count == MarkGrid.dataSlots && MarkGrid.dataSlots == 244)
        let uses = Dictionary(grouping: data, by: { $0 }).mapValues(\.count)
        #expect(Set(uses.keys) == Set(0..<PayloadCodec.codedBits))
        #expect(uses.values.filter { $0 == 2 }.count == MarkGrid.dataSlots - PayloadCodec.codedBits)
        #expect(uses.values.allSatisfy { $0 <= 2 })
        for k in 0..<MarkGrid.pairsPerPeriod {                          // groups of 9, 9 and 8 band-pairs
            let groups = (0..<MarkGrid.bandPairCount).map { l.pairGroup[k * MarkGrid.bandPairCount + $0] }
            #expect((0..<3).map { g in groups.filter { $0 == g }.count } == [9, 9, 8])
        }
    }
}
