"""Recompute the claims of claims.json for Aeberhard, Coomans & de Vel (1992), "Comparison of
Classifiers in High Dimensional Settings": leave-one-out accuracy of RDA, QDA, LDA and 1NN on the
wine recognition data that ships with scikit-learn.

Run from this folder:  python wine_classifiers.py > runs/loo-1.log
It writes results.json (claim id -> measured value, run id, seed, command) and logs what it did.
Deterministic: no random numbers are drawn, so there is no seed. About a minute on one CPU core.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
from sklearn.datasets import load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis

RUN_ID = "loo-1"
COMMAND = "python wine_classifiers.py > runs/loo-1.log"
LOG = "runs/loo-1.log"
# PLAN.md, "Unspecified details": the (lambda, gamma) grid, fixed before any RDA run.
GRID = np.round(np.linspace(0.0, 1.0, 11), 10)


# -- leave-one-out for an ordinary classifier ---------------------------------------------------

def loo_predictions(fit_predict, X, y):
    """Predict every sample from a model fitted on the other n - 1 samples."""
    n = len(y)
    pred = np.empty(n, dtype=y.dtype)
    for i in range(n):
        train = np.arange(n) != i
        pred[i] = fit_predict(X[train], y[train], X[i:i + 1])[0]
    return pred


def sklearn_model(make):
    return lambda Xt, yt, Xq: make().fit(Xt, yt).predict(Xq)


def zscore(X, ref=None):
    """z-transform: each variable minus its mean, divided by its standard deviation (over ref)."""
    ref = X if ref is None else ref
    return (X - ref.mean(axis=0)) / ref.std(axis=0)


def one_nn(Xt, yt, Xq):
    """Nearest neighbour in Euclidean distance; np.argmin takes the first of tied neighbours."""
    d = ((Xt[None, :, :] - Xq[:, None, :]) ** 2).sum(axis=2)
    return yt[np.argmin(d, axis=1)]


def one_nn_zscored_in_fold(Xt, yt, Xq):
    return one_nn(zscore(Xt), yt, zscore(Xq, ref=Xt))


def one_nn_cityblock(Xt, yt, Xq):
    return yt[np.argmin(np.abs(Xt[None, :, :] - Xq[:, None, :]).sum(axis=2), axis=1)]


def nn_ties(Z, y):
    """How close 1NN's leave-one-out decisions are to a tie: for each sample, the distance to its
    nearest neighbour of its own class and of another class; and how many samples have two or more
    neighbours at exactly the nearest distance."""
    d = np.sqrt(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    same = np.where(y[:, None] == y[None, :], d, np.inf).min(axis=1)
    other = np.where(y[:, None] != y[None, :], d, np.inf).min(axis=1)
    exact = int((np.isclose(d, d.min(axis=1, keepdims=True), rtol=1e-12, atol=0).sum(axis=1) > 1).sum())
    return same, other, exact


# -- RDA (Friedman 1989) --------------------------------------------------------------------------

def class_stats(X, y, K):
    """Per class: count n_k, mean, and scatter S_k = sum (x - mean_k)(x - mean_k)^T."""
    counts = np.array([(y == k).sum() for k in range(K)], dtype=float)
    means = np.array([X[y == k].mean(axis=0) for k in range(K)])
    scatter = np.array([(X[y == k] - means[k]).T @ (X[y == k] - means[k]) for k in range(K)])
    return counts, means, scatter


def rda_covariances(counts, scatter, lam, gam):
    """Friedman (1989): Sigma_k(lam) = [(1-lam) S_k + lam S] / [(1-lam) n_k + lam n], S = sum_k S_k,
    then Sigma_k(lam, gam) = (1-gam) Sigma_k(lam) + gam tr[Sigma_k(lam)]/p I. Leading axes broadcast."""
    p = scatter.shape[-1]
    pooled = scatter.sum(axis=-3, keepdims=True)
    total = counts.sum(axis=-1, keepdims=True)
    sigma = ((1 - lam) * scatter + lam * pooled) / ((1 - lam) * counts + lam * total)[..., None, None]
    trace = np.trace(sigma, axis1=-2, axis2=-1)[..., None, None]
    return (1 - gam) * sigma + gam * trace / p * np.eye(p)


def rda_scores(x, counts, means, sigma):
    """d_k(x) = (x - mean_k)^T Sigma_k^-1 (x - mean_k) + ln|Sigma_k| - 2 ln pi_k, priors pi_k = n_k / n;
    the sample goes to the class with the smallest d_k."""
    diff = x[..., None, :] - means
    maha = (diff * np.linalg.solve(sigma, diff[..., None])[..., 0]).sum(axis=-1)
    logdet = np.linalg.slogdet(sigma)[1]
    priors = counts / counts.sum(axis=-1, keepdims=True)
    return maha + logdet - 2 * np.log(priors)


def rda_predict(Xt, yt, Xq, lam, gam, K):
    counts, means, scatter = class_stats(Xt, yt, K)
    sigma = rda_covariances(counts, scatter, lam, gam)
    return np.array([np.argmin(rda_scores(x, counts, means, sigma)) for x in Xq])


def rda_loo_errors(X, y, K):
    """Leave-one-out errors of RDA at every grid point, as an array [lambda index, gamma index].
    Removing sample j only changes its own class: its mean and a rank-one downdate of its scatter,
    so all n fits are computed at once. And since gamma only moves the eigenvalues of
    Sigma_k(lambda) toward their mean, one eigendecomposition per lambda serves every gamma.
    The same numbers as refitting n times (checked by tests/test_reproduce_example.py)."""
    n = len(y)
    counts, means, scatter = class_stats(X, y, K)
    rows = np.arange(n)
    c = counts[y]
    delta = X - means[y]
    counts_j = np.repeat(counts[None], n, axis=0)
    counts_j[rows, y] -= 1
    means_j = np.repeat(means[None], n, axis=0)
    means_j[rows, y] = (c[:, None] * means[y] - X) / (c[:, None] - 1)
    scatter_j = np.repeat(scatter[None], n, axis=0)
    scatter_j[rows, y] -= (c / (c - 1))[:, None, None] * delta[:, :, None] * delta[:, None, :]
    log_priors = np.log(counts_j / (n - 1))
    gam = GRID[:, None, None, None]
    errors = np.zeros((len(GRID), len(GRID)), dtype=int)
    for a, lam in enumerate(GRID):
        eigval, eigvec = np.linalg.eigh(rda_covariances(counts_j, scatter_j, lam, 0.0))
        proj2 = np.einsum("jkpq,jkp->jkq", eigvec, X[:, None, :] - means_j) ** 2
        shrunk = (1 - gam) * eigval + gam * eigval.mean(axis=-1, keepdims=True)  # [gamma, j, k, p]
        scores = (proj2 / shrunk).sum(axis=-1) + np.log(shrunk).sum(axis=-1) - 2 * log_priors
        errors[a] = (np.argmin(scores, axis=-1) != y).sum(axis=-1)
    return errors


def select(errors, prefer="most"):
    """The grid point with the fewest errors. Ties go to the most regularised model (largest gamma,
    then largest lambda), the rule PLAN.md fixed in advance; prefer="least" (smallest gamma, then
    smallest lambda) is logged only to show how much the rule matters."""
    sign = -1 if prefer == "most" else 1
    a, b = min(itertools.product(range(len(GRID)), range(len(GRID))),
               key=lambda ab: (errors[ab], sign * GRID[ab[1]], sign * GRID[ab[0]]))
    return float(GRID[a]), float(GRID[b])


def rda_nested(X, y, K, prefer=("most",)):
    """Leave-one-out accuracy of RDA with its parameters chosen, for each held-out sample, by
    leave-one-out on the other n - 1 samples only: the held-out sample never picks its own model.
    Returns, for each tie rule in `prefer`, the predictions and the (lambda, gamma, tied) chosen
    in each fold (tied: how many grid points shared the fewest errors)."""
    n = len(y)
    out = {rule: (np.empty(n, dtype=int), []) for rule in prefer}
    for i in range(n):
        train = np.arange(n) != i
        errors = rda_loo_errors(X[train], y[train], K)
        tied = int((errors == errors.min()).sum())
        for rule, (pred, chosen) in out.items():
            lam, gam = select(errors, rule)
            chosen.append((lam, gam, tied))
            pred[i] = rda_predict(X[train], y[train], X[i:i + 1], lam, gam, K)[0]
    return out


# -- the run --------------------------------------------------------------------------------------

def percent(pred, y):
    return 100.0 * float((pred == y).mean())


def report(name, pred, y):
    wrong = np.flatnonzero(pred != y)
    listed = ", ".join(f"{i}: {y[i]}->{pred[i]}" for i in wrong) if len(wrong) <= 12 else "(too many to list)"
    print(f"{name}: {int((pred == y).sum())}/{len(y)} correct = {percent(pred, y):.3f}%; "
          f"misclassified samples (index: true -> predicted): {listed or 'none'}")


def main() -> None:
    X, y = load_wine(return_X_y=True)
    n, p = X.shape
    K = int(y.max()) + 1
    print(f"wine data: n = {n} samples, p = {p} variables, classes {np.bincount(y).tolist()}")
    print(f"one sample of {n} = {100 / n:.3f} percentage points\n")

    lda = loo_predictions(sklearn_model(LinearDiscriminantAnalysis), X, y)
    report("LDA (scikit-learn, priors = class proportions)", lda, y)
    qda = loo_predictions(sklearn_model(QuadraticDiscriminantAnalysis), X, y)
    report("QDA (scikit-learn, priors = class proportions)", qda, y)

    Z = zscore(X)
    nn = loo_predictions(one_nn, Z, y)
    report("1NN, Euclidean, data z-transformed once (claim value)", nn, y)
    same, other, exact = nn_ties(Z, y)
    print(f"ties: {exact} samples have two or more nearest neighbours at the same distance; "
          "misclassified samples, nearest other class / nearest own class: " + ", ".join(
              f"{i}: {other[i]:.3f}/{same[i]:.3f}" for i in np.flatnonzero(nn != y)))
    flip = np.flatnonzero(nn == y)
    closest = flip[np.argmax(same[flip] / other[flip])]
    print(f"closest correct call: sample {closest}, own class {same[closest]:.3f} vs other class "
          f"{other[closest]:.3f} (ratio {same[closest] / other[closest]:.3f})")

    print("\nRDA: leave-one-out errors on all 178 samples at each grid point "
          "(rows lambda, columns gamma):")
    full = rda_loo_errors(X, y, K)
    print("lambda\\gamma " + " ".join(f"{g:4.1f}" for g in GRID))
    for a, lam in enumerate(GRID):
        print(f"{lam:12.1f} " + " ".join(f"{e:4d}" for e in full[a]))
    lam0, gam0 = select(full)
    print(f"best grid point on all 178 (the held-out samples take part in choosing it): "
          f"lambda = {lam0:.1f}, gamma = {gam0:.1f}, {n - full.min()}/{n} correct = "
          f"{100 * (n - full.min()) / n:.3f}%")
    print(f"cross-checks: RDA(1, 0) = LDA with divisor n: {n - full[-1, 0]}/{n}; "
          f"RDA(0, 0) = QDA with divisors n_k: {n - full[0, 0]}/{n}")

    nested = rda_nested(X, y, K, prefer=("most", "least"))
    rda, chosen = nested["most"]
    report("\nRDA, (lambda, gamma) chosen inside each fold (claim value)", rda, y)
    picks = {}
    for lam, gam, _ in chosen:
        picks[(lam, gam)] = picks.get((lam, gam), 0) + 1
    print("parameters chosen in the 178 folds: " + ", ".join(
        f"(lambda {a:.1f}, gamma {b:.1f}) x{k}" for (a, b), k in sorted(picks.items(), key=lambda t: -t[1])))
    for i in np.flatnonzero(rda != y):
        lam, gam, tied = chosen[i]
        print(f"sample {i}: chosen (lambda {lam:.1f}, gamma {gam:.1f}); {tied} grid points tied for the "
              "fewest errors on the other 177")

    print("\nSensitivity to details the excerpt leaves open (not claim values):")
    report("1NN, z-transform recomputed inside each fold", loo_predictions(one_nn_zscored_in_fold, X, y), y)
    report("1NN, city-block distance on z-transformed data", loo_predictions(one_nn_cityblock, Z, y), y)
    report("1NN, raw (not z-transformed) data", loo_predictions(one_nn, X, y), y)
    report("RDA chosen inside each fold, ties to the least regularised", nested["least"][0], y)
    zfull = rda_loo_errors(Z, y, K)
    print("RDA on z-transformed data, best grid point on all 178: {}/{} correct at (lambda {:.1f}, "
          "gamma {:.1f})".format(n - zfull.min(), n, *select(zfull)))
    report("RDA on z-transformed data, chosen inside each fold", rda_nested(Z, y, K)["most"][0], y)

    def entry(pred, notes):
        return {"value": percent(pred, y), "run_id": RUN_ID, "seed": None, "command": COMMAND,
                "log": LOG, "notes": notes}

    results = {
        "loo.RDA": entry(rda, "Friedman's RDA on the data as shipped; (lambda, gamma) chosen on an 11 x 11 "
                              "grid by leave-one-out inside each training fold (nested). Chosen with the "
                              f"held-out wines taking part (not nested): {n - full.min()}/{n} at (lambda "
                              f"{lam0:.1f}, gamma {gam0:.1f})"),
        "loo.QDA": entry(qda, "scikit-learn QuadraticDiscriminantAnalysis, default settings"),
        "loo.LDA": entry(lda, "scikit-learn LinearDiscriminantAnalysis, default settings"),
        "loo.1NN": entry(nn, "Euclidean 1NN on the data z-transformed once (mean 0, sd 1 over all 178); "
                             f"{int((nn == y).sum())}/{n} correct, the same with the z-transform inside "
                             f"each fold; {exact} distance ties"),
    }
    with open("results.json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print("\nresults.json written")


if __name__ == "__main__":
    main()
