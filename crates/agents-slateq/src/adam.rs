//! Adam (Kingma and Ba, 2015) on one flat parameter tensor, with global-norm clipping.
//!
//! tch's optimiser does not expose its moments; owning them lets a checkpoint hold them
//! exactly, so a resumed run continues bit for bit.

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::tensor::to_vec;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam's first and second moments and its step count.
#[derive(Debug)]
pub struct Adam {
    m: Tensor,
    v: Tensor,
    step: u64,
}

/// Adam's state as plain numbers, for checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAdam {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub step: u64,
}

impl Adam {
    /// Zero moments for parameters like `theta`.
    pub fn new(theta: &Tensor) -> Self {
        Self {
            m: theta.zeros_like().detach(),
            v: theta.zeros_like().detach(),
            step: 0,
        }
    }

    /// One step on the gradient accumulated in `theta`, after clipping it to a global
    /// norm of `clip` (when positive); clears the gradient. Returns its norm before
    /// clipping.
    pub fn step(&mut self, theta: &mut Tensor, lr: f64, clip: f64) -> f64 {
        let grad = theta.grad();
        let norm = grad.norm().double_value(&[]);
        tch::no_grad(|| {
            let mut g = grad.shallow_clone();
            if clip > 0.0 && norm > clip {
                g *= clip / norm;
            }
            self.step += 1;
            let t = self.step as i32;
            // In place: the same operations in the same order, without new moment tensors.
            self.m *= BETA1;
            self.m += &g * (1.0 - BETA1);
            self.v *= BETA2;
            self.v += g.square() * (1.0 - BETA2);
            let m_hat = &self.m / (1.0 - BETA1.powi(t));
            let v_hat = &self.v / (1.0 - BETA2.powi(t));
            let update = m_hat / (v_hat.sqrt() + EPS) * lr;
            let _ = theta.f_sub_(&update).expect("in-place parameter update");
        });
        theta.zero_grad();
        norm
    }

    /// The state, for a checkpoint.
    pub fn save(&self) -> SavedAdam {
        SavedAdam {
            m: to_vec(&self.m),
            v: to_vec(&self.v),
            step: self.step,
        }
    }

    /// The state a checkpoint held.
    pub fn load(saved: &SavedAdam, device: Device) -> Self {
        Self {
            m: Tensor::from_slice(&saved.m).to_device(device),
            v: Tensor::from_slice(&saved.v).to_device(device),
            step: saved.step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_moves_each_parameter_by_the_learning_rate() {
        // With bias correction, step 1 is lr·g/(|g| + ε) per coordinate.
        let mut theta = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let loss = (&theta * Tensor::from_slice(&[3.0f32, -0.5])).sum(tch::Kind::Float);
        loss.backward();
        let mut adam = Adam::new(&theta);
        let norm = adam.step(&mut theta, 0.1, 0.0);
        assert!((norm - (9.0f64 + 0.25).sqrt()).abs() < 1e-6);
        let after = to_vec(&theta);
        assert!(
            (after[0] - 0.9).abs() < 1e-6 && (after[1] + 1.9).abs() < 1e-6,
            "{after:?}"
        );
        let saved = adam.save();
        assert_eq!(saved.step, 1);
        assert_eq!(Adam::load(&saved, Device::Cpu).save(), saved);
    }
}
