//! The learned user choice model `P(i | s, A)`; the known ones and slate optimisation
//! are in [`agents::choice`], which the portable policy shares.

use tch::{Kind, Tensor};

use crate::net::{parameters, snapshot};

/// A conditional logit over the slate and a no-click option:
/// `s_i = uᵀWd_i + aᵀd_i`, `s_∅ = b + cᵀu`, `P(i) ∝ e^{s_i}`.
#[derive(Debug)]
pub struct LogitChoice {
    pub theta: Tensor,
    user_dim: usize,
    doc_dim: usize,
}

impl LogitChoice {
    pub fn num_params(user_dim: usize, doc_dim: usize) -> usize {
        user_dim * doc_dim + doc_dim + 1 + user_dim
    }

    /// Starts at zero: every option equally likely.
    pub fn new(user_dim: usize, doc_dim: usize, device: tch::Device) -> Self {
        let zeros = vec![0.0; Self::num_params(user_dim, doc_dim)];
        Self::from_params(parameters(&zeros, device), user_dim, doc_dim)
    }

    pub fn from_params(theta: Tensor, user_dim: usize, doc_dim: usize) -> Self {
        Self {
            theta,
            user_dim,
            doc_dim,
        }
    }

    /// A copy that shares no tensor with this one, to act with.
    pub fn copy(&self) -> Self {
        Self::from_params(snapshot(&self.theta), self.user_dim, self.doc_dim)
    }

    /// Scores `[B, N]` of the candidates and `[B]` of no click.
    pub fn scores(&self, user: &Tensor, items: &Tensor) -> (Tensor, Tensor) {
        let (u, d) = (self.user_dim as i64, self.doc_dim as i64);
        let t = &self.theta;
        let w = t.narrow(0, 0, u * d).view([u, d]);
        let a = t.narrow(0, u * d, d);
        let b = t.narrow(0, u * d + d, 1);
        let c = t.narrow(0, u * d + d + 1, u);
        let per_doc = user.matmul(&w) + a; // [B, d]
        let s = items.matmul(&per_doc.unsqueeze(-1)).squeeze_dim(-1);
        let s0 = user.matmul(&c) + b;
        (s, s0)
    }

    /// Cross-entropy of the observed choices: `slate [B, K]` positions, `target [B]` the
    /// clicked slot or `K` for no click.
    pub fn loss(&self, user: &Tensor, items: &Tensor, slate: &Tensor, target: &Tensor) -> Tensor {
        let (s, s0) = self.scores(user, items);
        let logits = Tensor::cat(&[s.gather(1, slate, false), s0.unsqueeze(1)], 1);
        logits.cross_entropy_for_logits(target)
    }

    /// The parameters, for `describe`.
    pub fn summary(&self) -> String {
        let v = crate::tensor::to_vec(&self.theta);
        let fmt = |xs: &[f32]| {
            xs.iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (u, d) = (self.user_dim, self.doc_dim);
        format!(
            "conditional logit: W ({u}×{d}) = [{}], a = [{}], no-click b = {:.3}, c = [{}]",
            fmt(&v[..u * d]),
            fmt(&v[u * d..u * d + d]),
            v[u * d + d],
            fmt(&v[u * d + d + 1..])
        )
    }
}

/// `exp` of scores as choice weights, on the CPU.
pub fn logit_weights(s: &Tensor, s0: &Tensor) -> Tensor {
    Tensor::cat(&[s.shallow_clone(), s0.unsqueeze(1)], 1)
        .to_kind(Kind::Float)
        .exp()
}
