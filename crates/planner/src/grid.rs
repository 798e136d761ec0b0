//! An evenly spaced grid over the net positive exposure, read by linear interpolation.

/// An evenly spaced grid over NPE, read by linear interpolation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    pub lo: f64,
    pub step: f64,
    pub len: usize,
}

impl Grid {
    pub fn symmetric(half: f64, len: usize) -> Self {
        Self {
            lo: -half,
            step: 2.0 * half / (len - 1) as f64,
            len,
        }
    }

    pub fn point(&self, i: usize) -> f64 {
        self.lo + self.step * i as f64
    }

    /// `x` clamped to the grid; NaN goes to the lower end, as in [`Grid::locate`].
    pub fn clamp(&self, x: f64) -> f64 {
        x.max(self.lo).min(self.point(self.len - 1))
    }

    /// The interval holding `x` and the position within it, clamped to the grid's ends.
    pub fn locate(&self, x: f64) -> (usize, f64) {
        let last = (self.len - 1) as f64;
        // `max` before `min` sends NaN to the lower end instead of propagating it.
        let t = ((x - self.lo) / self.step).max(0.0).min(last);
        let i = (t as usize).min(self.len - 2);
        (i, t - i as f64)
    }

    pub fn lerp(values: &[f64], (i, frac): (usize, f64)) -> f64 {
        values[i] + frac * (values[i + 1] - values[i])
    }

    pub fn interpolate(&self, values: &[f64], x: f64) -> f64 {
        Self::lerp(values, self.locate(x))
    }
}
