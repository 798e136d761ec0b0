//! Small networks whose parameters live in one flat tensor.
//!
//! One flat vector makes the optimiser, gradient clipping, the target-network copy and
//! checkpointing single-tensor operations.

use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use recsim_core::SimRng;

use crate::adam::{Adam, SavedAdam};
use crate::tensor::to_vec;

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

/// A flat parameter vector with its optimiser.
#[derive(Debug)]
pub struct Params {
    pub theta: Tensor,
    adam: Adam,
}

impl Params {
    pub fn new(values: &[f32], device: Device) -> Self {
        let theta = Tensor::from_slice(values)
            .to_device(device)
            .set_requires_grad(true);
        Self {
            adam: Adam::new(&theta),
            theta,
        }
    }

    pub fn len(&self) -> usize {
        self.theta.size()[0] as usize
    }

    /// One Adam step on the gradient accumulated in `theta` ([`Adam::step`]).
    pub fn adam_step(&mut self, lr: f64, clip: f64) -> f64 {
        self.adam.step(&mut self.theta, lr, clip)
    }

    /// A detached copy of the parameters (the target network's).
    pub fn snapshot(&self) -> Tensor {
        self.theta.detach().copy()
    }

    pub fn save(&self) -> SavedParams {
        SavedParams {
            theta: to_vec(&self.theta),
            adam: self.adam.save(),
        }
    }

    pub fn load(saved: &SavedParams, device: Device) -> Self {
        let mut p = Self::new(&saved.theta, device);
        p.adam = Adam::load(&saved.adam, device);
        p
    }
}

/// Parameters and optimiser state as plain numbers, for checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedParams {
    pub theta: Vec<f32>,
    pub adam: SavedAdam,
}

#[cfg(test)]
mod tests {
    use super::*;
    use recsim_core::{stream, StreamId};
    use tch::Kind;

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
        let mut rng = stream(1, StreamId::SlateQ);
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
