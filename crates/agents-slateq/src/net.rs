//! Small networks whose parameters live in one flat tensor, with an owned Adam step.
//!
//! One flat vector makes the optimizer, gradient clipping, the target-network copy and
//! checkpointing single-tensor operations, and lets a checkpoint hold the Adam moments
//! exactly (tch's optimizer does not expose them).

use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use recsim_core::SimRng;

/// A multilayer perceptron `in → hidden… → 1` with ReLU between layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub sizes: Vec<usize>,
}

impl Mlp {
    pub fn new(input: usize, hidden: &[usize]) -> Self {
        let mut sizes = vec![input];
        sizes.extend_from_slice(hidden);
        sizes.push(1);
        Self { sizes }
    }

    /// `(inputs, outputs)` of each layer.
    pub fn layers(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.sizes.windows(2).map(|w| (w[0], w[1]))
    }

    pub fn num_params(&self) -> usize {
        self.layers().map(|(i, o)| i * o + o).sum()
    }

    /// PyTorch's default initialisation, `U(±1/√fan_in)` for weights and biases, drawn
    /// from the agent's own stream.
    pub fn init(&self, rng: &mut SimRng) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.num_params());
        for (i, o) in self.layers() {
            let bound = 1.0 / (i.max(1) as f32).sqrt();
            for _ in 0..(i * o + o) {
                out.push(rng.random_range(-bound..bound));
            }
        }
        out
    }

    /// `x: [..., in]` → `[...]`.
    pub fn forward(&self, theta: &Tensor, x: &Tensor) -> Tensor {
        let mut leading = x.size();
        let input = leading.pop().expect("inputs have a feature dimension");
        // One 2-D fused `b + h·W` per layer: fewer, larger kernels than batched matmuls.
        let mut h = x.reshape([-1, input]);
        let mut offset = 0i64;
        let last = self.sizes.len() - 2;
        for (l, (i, o)) in self.layers().enumerate() {
            let (i, o) = (i as i64, o as i64);
            let w = theta.narrow(0, offset, i * o).view([i, o]);
            let b = theta.narrow(0, offset + i * o, o);
            offset += i * o + o;
            h = b.addmm(&h, &w);
            if l < last {
                h = h.relu();
            }
        }
        h.reshape(leading)
    }
}

/// A flat parameter vector with its Adam moments.
#[derive(Debug)]
pub struct Params {
    pub theta: Tensor,
    m: Tensor,
    v: Tensor,
    step: u64,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl Params {
    pub fn new(values: &[f32], device: Device) -> Self {
        let theta = Tensor::from_slice(values)
            .to_device(device)
            .set_requires_grad(true);
        Self {
            m: theta.zeros_like().detach(),
            v: theta.zeros_like().detach(),
            theta,
            step: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.theta.size()[0] as usize
    }

    /// One Adam step on the gradient accumulated in `theta`, after clipping it to a global
    /// norm of `clip` (when positive). Returns the gradient norm before clipping.
    pub fn adam_step(&mut self, lr: f64, clip: f64) -> f64 {
        let grad = self.theta.grad();
        let norm = grad.norm().double_value(&[]);
        tch::no_grad(|| {
            let mut g = grad.shallow_clone();
            if clip > 0.0 && norm > clip {
                g *= clip / norm;
            }
            self.step += 1;
            let t = self.step as i32;
            self.m = &self.m * BETA1 + &g * (1.0 - BETA1);
            self.v = &self.v * BETA2 + g.square() * (1.0 - BETA2);
            let m_hat = &self.m / (1.0 - BETA1.powi(t));
            let v_hat = &self.v / (1.0 - BETA2.powi(t));
            let update = m_hat / (v_hat.sqrt() + EPS) * lr;
            let _ = self
                .theta
                .f_sub_(&update)
                .expect("in-place parameter update");
        });
        self.theta.zero_grad();
        norm
    }

    /// A detached copy of the parameters (the target network's).
    pub fn snapshot(&self) -> Tensor {
        self.theta.detach().copy()
    }

    pub fn save(&self) -> SavedParams {
        SavedParams {
            theta: to_vec(&self.theta),
            m: to_vec(&self.m),
            v: to_vec(&self.v),
            step: self.step,
        }
    }

    pub fn load(saved: &SavedParams, device: Device) -> Self {
        let mut p = Self::new(&saved.theta, device);
        p.m = Tensor::from_slice(&saved.m).to_device(device);
        p.v = Tensor::from_slice(&saved.v).to_device(device);
        p.step = saved.step;
        p
    }
}

/// Parameters and Adam state as plain numbers, for checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedParams {
    pub theta: Vec<f32>,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub step: u64,
}

/// A tensor's values on the CPU, flattened.
pub fn to_vec(t: &Tensor) -> Vec<f32> {
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .flatten(0, -1);
    Vec::<f32>::try_from(&flat).expect("a float tensor converts to Vec<f32>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use recsim_core::stream;

    #[test]
    fn forward_matches_a_hand_computation() {
        let mlp = Mlp::new(2, &[2]);
        assert_eq!(mlp.num_params(), 2 * 2 + 2 + 2 + 1);
        // W1 = [[1, -1], [2, 0]], b1 = [0, 1], W2 = [[3], [-2]], b2 = [0.5]
        let theta = Tensor::from_slice(&[1.0f32, -1.0, 2.0, 0.0, 0.0, 1.0, 3.0, -2.0, 0.5]);
        let x = Tensor::from_slice(&[1.0f32, 1.0, -1.0, 0.0]).view([2, 2]);
        let y = to_vec(&mlp.forward(&theta, &x));
        // Row 1: h = relu([3, 0]) → 9.5; row 2: h = relu([-1, 2]) → -3.5.
        assert_eq!(y, vec![9.5, -3.5]);
    }

    #[test]
    fn adam_fits_a_line_and_round_trips() {
        let mut rng = stream(1, 5);
        let mlp = Mlp::new(1, &[8]);
        let mut p = Params::new(&mlp.init(&mut rng), Device::Cpu);
        let x = Tensor::from_slice(&[-1.0f32, -0.5, 0.0, 0.5, 1.0]).view([5, 1]);
        let y = Tensor::from_slice(&[-2.0f32, -1.0, 0.0, 1.0, 2.0]);
        for _ in 0..2000 {
            let loss = (mlp.forward(&p.theta, &x) - &y).square().mean(Kind::Float);
            loss.backward();
            p.adam_step(1e-2, 10.0);
        }
        let loss = (mlp.forward(&p.theta, &x) - &y)
            .square()
            .mean(Kind::Float)
            .double_value(&[]);
        assert!(loss < 1e-3, "loss {loss}");
        let saved = p.save();
        let q = Params::load(&saved, Device::Cpu);
        assert_eq!(q.save(), saved);
    }
}
