import Dispatch
import Synchronization

/// What flows between stages: a piece of data, or the end of the lane — or, on a video lane
/// with `--copy-unlabeled`, input packets passed through to the muxer in order.
enum StageItem<T: Sendable>: Sendable {
    case data(T)
    case copied(CopiedRun)
    case end
}

/// One pipeline stage: a serial DispatchQueue doing one job, fed through a bounded queue.
///
/// `submit` blocks the caller while `capacity` items are already waiting: that is the
/// back-pressure that keeps a file input from racing ahead of the encoders. The stage's handler
/// runs on `queue` only, so a stage's state needs no lock.
final class Stage<Input: Sendable>: @unchecked Sendable {
    let name: String
    let queue: DispatchQueue
    let capacity: Int
    private let slots: DispatchSemaphore
    private let waiting = Atomic<Int>(0)
    private let highWater = Atomic<Int>(0)
    private let fullCount = Atomic<Int>(0)
    /// Set once before the first `submit`; runs on `queue`.
    var handler: (Input) -> Void = { _ in }

    init(name: String, capacity: Int, qos: DispatchQoS = .userInitiated) {
        self.name = name
        self.capacity = capacity
        self.queue = DispatchQueue(label: "labelcast.\(name)", qos: qos)
        self.slots = DispatchSemaphore(value: capacity)
    }

    /// Queues `item` for the handler; blocks while the queue is full.
    func submit(_ item: Input) {
        if slots.wait(timeout: .now()) == .timedOut {
            fullCount.add(1, ordering: .relaxed)
            slots.wait()
        }
        let depth = waiting.add(1, ordering: .relaxed).newValue
        if depth > highWater.load(ordering: .relaxed) { highWater.store(depth, ordering: .relaxed) }
        queue.async {
            self.waiting.subtract(1, ordering: .relaxed)
            self.slots.signal()
            self.handler(item)
        }
    }

    /// Items waiting now.
    var depth: Int { waiting.load(ordering: .relaxed) }
    /// The most items that ever waited at once.
    var maxDepth: Int { highWater.load(ordering: .relaxed) }
    /// How often a producer found the queue full and had to wait.
    var timesFull: Int { fullCount.load(ordering: .relaxed) }
}
