//! Tensors as plain numbers, for checkpoints and for the CPU-side choice of slates.

use tch::{Device, Kind, Tensor};

/// A tensor's values on the CPU, flattened.
pub fn to_vec(t: &Tensor) -> Vec<f32> {
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .flatten(0, -1);
    Vec::<f32>::try_from(&flat).expect("a float tensor converts to Vec<f32>")
}
