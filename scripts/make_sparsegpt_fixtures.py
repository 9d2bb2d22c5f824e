#!/usr/bin/env python3
"""Fixtures for Tests/PruningTests (SparseGPT, Hessian accumulation, linear sum assignment).

A PyTorch transcription (CPU, float32) of the reference SparseGPT `add_batch` / `fasterprune`
(IST-DASLab/sparsegpt, sparsegpt.py; same as locuslab/wanda lib/sparsegpt.py) is run on a small
random layer; scipy.optimize.linear_sum_assignment on random cost matrices.

Output: Tests/Fixtures/sparsegpt/sparsegpt.safetensors
  x            f16 [samples, tokens, 256]  calibration inputs (values are fp16-exact)
  w            f32 [24, 256]               original weight
  h_diag, h_row0  f32 [256]                reference Hessian diagonal and first row
  <case>.w     f32 [24, cols]              pruned weight from the reference
  <case>.mask  u8 packed bits (numpy.packbits, row-major, big-endian bit order), true = pruned
  lsa<k>.cost  f32 [r, c]; lsa<k>.col i64 [min(r,c)], lsa<k>.row i64 (scipy's row_ind, col_ind)
  ria<k>.s     f32 [rows, cols] scores; ria<k>.heur i64 / ria<k>.index i64: the column order after
               RIA's heuristic channel reallocation and after its LSA rounds (a transcription of
               prune_ria's --reallocation --lsa path, importance "sum", blocks = 1)
Cases: un50 (50 % unstructured), nm24 (2:4), nm48 (4:8) on 256 columns; un50_c200 and
nm24_c200 on the first 200 columns (blocks 128 + 72). Block size 128, percdamp 0.01.
"""
import math
import os

import numpy as np
import torch
from safetensors.numpy import save_file
from scipy.optimize import linear_sum_assignment

torch.manual_seed(0)
rng = np.random.default_rng(1234)
ROWS, COLS, SAMPLES, TOKENS = 24, 256, 8, 32


def add_batch(H, nsamples, inp):
    # inp: [batch, tokens, cols]; tmp counts batch entries (samples), not tokens.
    tmp = inp.shape[0]
    inp = inp.reshape((-1, inp.shape[-1])).t()
    H *= nsamples / (nsamples + tmp)
    nsamples += tmp
    inp = math.sqrt(2 / nsamples) * inp.float()
    H += inp.matmul(inp.t())
    return H, nsamples


def fasterprune(W, H, sparsity, prunen=0, prunem=0, blocksize=128, percdamp=.01):
    W = W.clone().float()
    H = H.clone()
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    H = torch.linalg.cholesky(H, upper=True)
    Hinv = H
    fullmask = torch.zeros_like(W, dtype=torch.bool)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1) == 1
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = W1[:, i:(i + prunem)] ** 2 / (torch.diag(Hinv1)[i:(i + prunem)].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1, largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        fullmask[:, i1:i2] = mask1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W, fullmask


def nm_mask(metric, n, m):
    mask = torch.zeros_like(metric) == 1
    for ii in range(metric.shape[1]):
        if ii % m == 0:
            tmp = metric[:, ii:(ii + m)].float()
            mask.scatter_(1, ii + torch.topk(tmp, n, dim=1, largest=False)[1], True)
    return mask


def ria_permutation(W_metric, prune_n, prune_m):
    cols = W_metric.shape[1]
    sorted_idx = torch.sort(torch.sum(W_metric, dim=0))[1]
    index = torch.zeros_like(sorted_idx)
    for ii in range(1, prune_m + 1):
        chunk = sorted_idx[int(cols * (ii - 1) / prune_m):int(cols * ii / prune_m)]
        index[ii - 1::prune_m] = chunk if ii % 2 == 1 else chunk.flip(0)
    heur = index.clone()
    shape = cols // prune_m
    rows = torch.arange(shape)

    def lsa(Wm, lsa_column):
        score_matrix = torch.zeros(shape, shape)
        for row in range(shape):
            strip_idx = torch.zeros(1, shape, prune_m).long()
            block_columns = torch.arange(prune_m)
            block_columns = block_columns[block_columns != lsa_column]
            strip_idx[:, :, 0] = (rows * prune_m).reshape(1, -1) + lsa_column
            strip_idx[:, :, 1:] = block_columns.reshape(1, 1, -1) + torch.arange(row, row + 1).reshape(-1, 1, 1) * prune_m
            tmp = Wm[:, strip_idx].transpose(1, 0).transpose(2, 1)
            W_mask = torch.zeros_like(tmp)
            tmp_index = torch.sort(tmp, dim=-1)[1]
            W_mask.scatter_(dim=-1, index=tmp_index[:, :, :, :prune_n], value=1)
            score_matrix[:, row:row + 1] = torch.sum(torch.sum((tmp * (W_mask == 0)), dim=-1), dim=-1).transpose(1, 0)
        score_matrix = score_matrix.transpose(1, 0)
        col_indices = torch.LongTensor(linear_sum_assignment(score_matrix.numpy(), maximize=True)[1])
        idx = torch.arange(cols).long()
        idx[rows * prune_m + lsa_column] = col_indices * prune_m + lsa_column
        return idx

    for lsa_column in range(prune_m):
        index = index[lsa(W_metric[:, index], lsa_column)]
    return heur, index


def main():
    out = {}
    # Correlated inputs with outlier channels and one dead channel, rounded to fp16.
    mix = np.eye(COLS) + 0.3 * rng.standard_normal((COLS, COLS)) / math.sqrt(COLS)
    z = rng.standard_normal((SAMPLES * TOKENS, COLS))
    x = z @ mix
    x[:, [7, 100, 201]] *= 20.0        # outlier channels
    x[:, 33] = 0.0                     # dead channel
    x = x.astype(np.float16).reshape(SAMPLES, TOKENS, COLS)
    w = (rng.standard_normal((ROWS, COLS)) * 0.05).astype(np.float32)
    out["x"] = x
    out["w"] = w

    def hessian(cols):
        H = torch.zeros((cols, cols))
        n = 0
        for s in range(SAMPLES):   # one sequence per call, as the Wanda/SparseGPT pipelines
            H, n = add_batch(H, n, torch.from_numpy(x[s:s + 1, :, :cols].astype(np.float32)))
        return H

    H = hessian(COLS)
    out["h_diag"] = torch.diag(H).numpy().copy()
    out["h_row0"] = H[0].numpy().copy()
    cases = [("un50", COLS, 0.5, 0, 0), ("nm24", COLS, 0.5, 2, 4), ("nm48", COLS, 0.5, 4, 8),
             ("un50_c200", 200, 0.5, 0, 0), ("nm24_c200", 200, 0.5, 2, 4)]
    for name, cols, sp, n, m in cases:
        Hc = H if cols == COLS else hessian(cols)
        Wp, mask = fasterprune(torch.from_numpy(w[:, :cols].copy()), Hc, sp, n, m)
        out[f"{name}.w"] = Wp.numpy()
        out[f"{name}.mask"] = np.packbits(mask.numpy().reshape(-1))
        print(name, "sparsity", mask.float().mean().item())

    for k, (r, c) in enumerate([(6, 6), (10, 7), (7, 10), (20, 20), (17, 25)]):
        cost = rng.standard_normal((r, c)).astype(np.float32)
        if k == 3:
            cost = np.round(cost * 2).astype(np.float32)   # many ties
        ri, ci = linear_sum_assignment(cost.astype(np.float64))
        out[f"lsa{k}.cost"] = cost
        out[f"lsa{k}.row"] = ri.astype(np.int64)
        out[f"lsa{k}.col"] = ci.astype(np.int64)

    for k, (r, c, n, m, outl) in enumerate([(16, 64, 2, 4, []), (8, 64, 4, 8, []), (16, 64, 2, 4, [0, 1, 2, 3, 9, 10])]):
        sc = np.abs(rng.standard_normal((r, c))).astype(np.float32)
        sc[:, outl] *= 10
        heur, index = ria_permutation(torch.from_numpy(sc), n, m)
        t = torch.from_numpy(sc)
        kept = lambda perm: t[:, perm][~nm_mask(t[:, perm], n, m)].double().sum().item()
        print(f"ria{k}: kept identity {kept(torch.arange(c)):.4f} heuristic {kept(heur):.4f} lsa {kept(index):.4f}")
        out[f"ria{k}.s"] = sc
        out[f"ria{k}.heur"] = heur.numpy().astype(np.int64)
        out[f"ria{k}.index"] = index.numpy().astype(np.int64)

    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "sparsegpt", "sparsegpt.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, path)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
