import Compute

/// Scratch for the backward pass of one block at a time, sized for the widest block and
/// reused across blocks (every family's block backward draws on it).
final class BackwardScratch {
    let normed: UnsafeMutablePointer<Float>          // rows × hidden: a recomputed norm output
    let normedGradient: UnsafeMutablePointer<Float>  // rows × hidden
    let product: UnsafeMutablePointer<Float>         // rows × intermediate: silu(gate)·up (Llama)
    let gateGradient: UnsafeMutablePointer<Float>    // rows × intermediate
    let upGradient: UnsafeMutablePointer<Float>      // rows × intermediate
    let attentionGradient: UnsafeMutablePointer<Float> // rows × qWidth
    let queryGradient: UnsafeMutablePointer<Float>   // rows × qWidth
    let keyGradient: UnsafeMutablePointer<Float>     // rows × kvWidth
    let valueGradient: UnsafeMutablePointer<Float>   // rows × kvWidth
    let sumGradient: UnsafeMutablePointer<Float>     // rows × hidden: through a post-LN norm (OPT-350m)

    init(rows: Int, hidden: Int, shapes: [BlockShape]) {
        let maxQWidth = shapes.map(\.queryWidth).max() ?? 0, maxKVWidth = shapes.map(\.kvWidth).max() ?? 0
        let maxIntermediate = shapes.map(\.intermediateSize).max() ?? 0
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
        normed = buffer(rows * hidden); normedGradient = buffer(rows * hidden); sumGradient = buffer(rows * hidden)
        product = buffer(rows * maxIntermediate); gateGradient = buffer(rows * maxIntermediate)
        upGradient = buffer(rows * maxIntermediate)
        attentionGradient = buffer(rows * maxQWidth); queryGradient = buffer(rows * maxQWidth)
        keyGradient = buffer(rows * maxKVWidth); valueGradient = buffer(rows * maxKVWidth)
    }

    deinit {
        [normed, normedGradient, product, gateGradient, upGradient, attentionGradient,
         queryGradient, keyGradient, valueGradient, sumGradient].forEach { $0.deallocate() }
    }
}

