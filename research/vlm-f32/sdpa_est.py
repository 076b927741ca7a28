"""Save the sdpa_probe model (static N) and compare ovmem.analyze (target avx512) with the probe's growth."""
import sys, numpy as np, openvino as ov, openvino.opset13 as ops, ovmem
N, K = int(sys.argv[1]), int(sys.argv[2]); H, D = 16, 80; M = 2**20
x = ops.parameter([1, N, H * D], np.float32, name="x"); mask = ops.parameter([1, N, N], np.float32, name="mask"); h = x
for i in range(K):
    r = ops.reshape(h, ops.constant(np.array([1, N, H, D], np.int64)), False)
    t = ops.transpose(r, ops.constant(np.array([0, 2, 1, 3], np.int64)))
    q = ops.multiply(t, ops.constant(np.float32(1.0 + i)))
    a = ops.scaled_dot_product_attention(q, t, t, mask, causal=False)
    a = ops.transpose(a, ops.constant(np.array([0, 2, 1, 3], np.int64)))
    h = ops.add(ops.reshape(a, ops.constant(np.array([1, N, H * D], np.int64)), False), h)
p = f"/tmp/sdpa_{N}_{K}.xml"; ov.save_model(ov.Model([h], [x, mask]), p)
rep = ovmem.analyze(p, seq_len=N, target=sys.argv[3] if len(sys.argv) > 3 else "avx512")
print(f"N={N} K={K} est io {rep.io_bytes/M:.1f} temp {rep.temp_peak_bytes/M:.1f} scratch {rep.scratch_bytes/M:.1f} {rep.scratch} peak {rep.peak}; est growth beyond inputs = {(rep.io_bytes + rep.temp_peak_bytes + rep.scratch_bytes)/M - (N*H*D*4 + N*N*4)/M:.1f}")
