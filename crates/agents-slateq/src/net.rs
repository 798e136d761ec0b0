//! Small networks whose parameters live in one flat tensor.
//!
//! One flat vector makes the optimiser, gradient clipping, the target-network copy and
//! checkpointing single-tensor operations.

use agents::portable::Dense;
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

    /// Its layers with the parameters `theta` (this network's, first in it), as
    /// [`Mlp::forward`] reads them.
    pub fn dense(&self, theta: &[f32]) -> Vec<Dense> {
        let mut offset = 0;
        self.layers()
            .map(|(i, o)| {
                let weights = theta[offset..offset + i * o].to_vec();
                let bias = theta[offset + i * o..offset + i * o + o].to_vec();
                offset += i * o + o;
                Dense {
                    inputs: i,
                    outputs: o,
                    weights,
                    bias,
                }
            })
            .collect()
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

/// A flat parameter vector that learns: a leaf tensor on `device` with a gradient.
pub fn parameters(values: &[f32], device: Device) -> Tensor {
    Tensor::from_slice(values)
        .to_device(device)
        .set_requires_grad(true)
}

/// A detached copy of parameters (the target network's).
pub fn snapshot(theta: &Tensor) -> Tensor {
    theta.detach().copy()
}

/// Parameters and their optimiser's state as plain numbers, for checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedParams {
    pub theta: Vec<f32>,
    pub adam: SavedAdam,
}

impl SavedParams {
    pub fn new(theta: &Tensor, adam: &Adam) -> Self {
        Self {
            theta: to_vec(theta),
            adam: adam.save(),
        }
    }

    /// The parameters and their optimiser on `device`.
    pub fn load(&self, device: Device) -> (Tensor, Adam) {
        (
            parameters(&self.theta, device),
            Adam::load(&self.adam, device),
        )
    }
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
        let mut theta = parameters(&mlp.init(&mut rng), Device::Cpu);
        let mut adam = Adam::new(&theta);
        let x = Tensor::from_slice(&[-1.0f32, -0.5, 0.0, 0.5, 1.0]).view([5, 1]);
        let y = Tensor::from_slice(&[-2.0f32, -1.0, 0.0, 1.0, 2.0]);
        for _ in 0..2000 {
            let loss = (mlp.forward(&theta, &x) - &y).square().mean(Kind::Float);
            loss.backward();
            adam.step(&mut theta, 1e-2, 10.0);
        }
        let loss = (mlp.forward(&theta, &x) - &y)
            .square()
            .mean(Kind::Float)
            .double_value(&[]);
        assert!(loss < 1e-3, "loss {loss}");
        let saved = SavedParams::new(&theta, &adam);
        let (theta, adam) = saved.load(Device::Cpu);
        assert_eq!(SavedParams::new(&theta, &adam), saved);
    }
}
