"""Formula for the Snippets MHA Subgraph's request from the CPU plugin's shared scratchpad (OpenVINO 2026.4.1, x64).
   request = m_nthreads * buffer_scratchpad_size + external_repacking_size   (bytes, one getScratchPadMem call)
See README.md for the source of each term."""
L1_L2 = 48 * 1024 + 2048 * 1024        # dnnl get_cache_size(1,true)+get_cache_size(2,true) on this SPR (48K L1d, 2M L2)
rnd = lambda x, b: -(-x // b) * b


def request(prec, N, H, D, threads, batch=1, m_blk=32, cache=L1_L2, parts=False):
    """prec 'f32' (AVX-512 without AMX/bf16) or 'bf16' (AMX, bf16 q/k^T/v/output, f32 mask); N = keys (= queries);
    H heads, D head size, batch B (4-D inputs); threads = INFERENCE_NUM_THREADS."""
    work = batch * H                    # parallel domain = master shape without the 2 tile dims (M blocks run inside)
    # MHAParallelWAOptimizer (SplitDimensionM::split) splits M into [new_batch, new_kernel] when B*H < threads, so the
    # work amount grows to >= threads. Verified: H=1, N=1024 and 3000 -> split (2 threads); N=1021 (prime) -> no split.
    # Approximation of when split() succeeds: M (= N) is not prime (the exact divisor heuristic was not read).
    if work < threads and any(N % d == 0 for d in range(2, int(N ** 0.5) + 1)):
        work = threads
    nthr = min(threads, work)           # SubgraphBaseExecutor: m_nthreads = min(parallel_get_max_threads(), work amount)
    if prec == "f32":
        es = 4
        # BrgemmConfig: f32 -> are_wei_blocked (is_kn_blocking_supported(f32)) -> repacking, wei_n_blk 64 (avx512),
        # K aligned to wei_k_blk*vnni = 16*1  (compute_buffer_b_allocation_shape)
        kt = rnd(D, 16) * rnd(N, 64) * es          # B of MatMul0: K^T [D, N]
        v = rnd(N, 16) * rnd(D, 64) * es           # B of MatMul1: V   [N, D]
        internal = 2 * m_blk * N * es              # Buffer(MatMul0 out [m_blk,N]) + Buffer(Softmax out [m_blk,N])
    else:
        es = 2
        # bf16: not kn-blocked, wei_n_blk 32, K aligned to vnni 2
        kt = rnd(D, 2) * rnd(N, 32) * es
        v = rnd(N, 2) * rnd(D, 32) * es
        internal = (m_blk * N * 4                  # MatMul0 out f32 [m_blk, N]
                    + m_blk * N * 2                # Softmax -> Convert bf16 [m_blk, N] (A of MatMul1)
                    + m_blk * D * 4                # MatMul1 out f32 [m_blk, D] before Convert to the bf16 output
                    + 32 * 1024 + 2048             # AMX scratch: BrgemmCPU::SCRATCH_BYTE_SIZE (+2 KiB, see README)
                    + 4 * rnd(N, 16))              # empirical, not traced to a source line (see README)
    data = (D * N * es + kt) + (N * D * es + v)   # BrgemmExternalRepackingAdjuster::run: src + dst per kernel call
    separate = data >= cache
    ext = batch * H * (kt + v) if separate else nthr * (kt + v)
    tot = nthr * internal + ext
    if parts:
        return dict(total=tot, nthr=nthr, internal=internal, ext=ext, mode="SEPARATE" if separate else "IN_PARALLEL")
    return tot


if __name__ == "__main__":
    import sys
    p, N, H, D, T = sys.argv[1], *map(int, sys.argv[2:6])
    print(request(p, N, H, D, T, parts=True))
