"""Rate-distortion on digits: latentlab's quantised codes against PCA with the same quantisation.

For each latent size an autoencoder is trained on the training split; the
test split is compressed at several bit depths. At the same bits per sample
(latent size x bits), PCA keeps as many components and quantises them the
same way (uniform, per dimension, over the range of the test codes).

A VQ-VAE (latent 8 in 4 groups, 32 codes) follows: its indices are
entropy-coded without loss under its prior, autoregressive or independent.

    python benchmarks/compression.py [--latent 2 4 8 16] [--bits 4 6 8]
"""

from __future__ import annotations

import argparse

import torch
from _record import name_for, start, table, write_record

import latentlab
from latentlab.apps.compression import pca_rate_distortion, rate_distortion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latent", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 6, 8])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    clock = start()
    torch.set_num_threads(args.threads)
    Xtr, Xte, _, _ = latentlab.load_digits(split=True)
    print("| latent | bits | bits/sample | ratio | latentlab MSE | PCA MSE | latentlab PSNR | PCA PSNR | lower |")
    print("|---|---|---|---|---|---|---|---|---|")
    wins = total = 0
    rd_rows, rd_cells = [], []
    for L in args.latent:
        model = latentlab.Autoencoder(latent_dim=L, hidden=(256, 128)).fit(Xtr, epochs=args.epochs, verbose=False)
        for b in args.bits:
            ours, pca = rate_distortion(model, Xte, b), pca_rate_distortion(Xtr, Xte, L, b)
            win = ours["mse"] < pca["mse"]
            wins, total = wins + win, total + 1
            rd_rows.append({"latent": L, "bits": b, "latentlab": ours, "pca": pca})
            rd_cells.append([L, b, f"{ours['bits_per_sample']:.0f}", f"{ours['compression_ratio']:.1f}",
                             f"{ours['mse']:.5f}", f"{pca['mse']:.5f}", f"{ours['psnr']:.2f}", f"{pca['psnr']:.2f}",
                             "latentlab" if win else "PCA"])
            print("| " + " | ".join(map(str, rd_cells[-1])) + " |", flush=True)
    print(f"\nlatentlab has the lower distortion at {wins} of {total} rate points.")

    # VQ-VAE: discrete codes, entropy-coded without loss under the model's own prior
    print("\n| VQ-VAE (latent, codebook) | prior | bits/sample (coded) | ideal (code_bits) | fixed-length | MSE | PSNR |")
    print("|---|---|---|---|---|---|---|")
    vq_rows, vq_cells = {}, []
    for prior in ("autoregressive", "independent"):
        vq = latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(128,), prior=prior)
        vq.fit(Xtr, epochs=args.epochs, verbose=False, seed=0)
        rd = rate_distortion(vq, Xte)
        vq_rows[prior] = {**rd, "ideal_bits": float(vq.code_bits(Xte).mean()), "fixed_bits": 20}
        vq_cells.append(["8, 32", prior, f"{rd['bits_per_sample']:.2f}", f"{vq_rows[prior]['ideal_bits']:.2f}", 20,
                         f"{rd['mse']:.5f}", f"{rd['psnr']:.2f}"])
        print("| " + " | ".join(map(str, vq_cells[-1])) + " |", flush=True)
    tables = {
        "main": table(["latent", "bits", "bits/sample", "ratio", "latentlab MSE", "PCA MSE", "latentlab PSNR",
                       "PCA PSNR", "lower"], rd_cells),
        "vqvae": table(["VQ-VAE (latent, codebook)", "prior", "bits/sample (coded)", "ideal (code_bits)",
                        "fixed-length", "MSE", "PSNR"], vq_cells),
    }
    write_record(
        name_for("compression", parser, args, ignore=("threads",)), {"rate_distortion": rd_rows,
                                                                     "latentlab_lower": [wins, total],
                                                                     "vqvae": vq_rows},
        started=clock, args=args, split="test", tables=tables,
        baselines={"PCA": "as many components as latent dimensions, quantised the same way (uniform, per dimension)"},
        notes="digits test split; distortion at equal bits per sample (latent size x bits)",
    )


if __name__ == "__main__":
    main()
