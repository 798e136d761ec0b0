//! PNG figures, in one consistent style.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::FontStyle;

const SIZE: (u32, u32) = (900, 560);
const FONT: &str = "sans-serif";

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font travels inside the binary, so plots need no system fonts.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Least-squares line `a + b·x` through the points.
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let pad = ((hi - lo) * 0.08).max(1e-6);
    (lo - pad)..(hi + pad)
}

/// Per-step rewards of one episode as a scatter with its fitted linear trend.
pub fn episode_rewards(path: &Path, title: &str, rewards: &[f64]) -> Result<()> {
    fonts();
    let xs: Vec<f64> = (1..=rewards.len()).map(|t| t as f64).collect();
    let (a, b) = linear_fit(&xs, rewards);
    let lo = rewards.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..(rewards.len() as f64 + 1.0), padded(lo, hi))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("reward (engagement)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((FONT, 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(
            xs.iter()
                .zip(rewards)
                .map(|(&x, &y)| Circle::new((x, y), 3, BLUE.mix(0.7).filled())),
        )
        .map_err(|e| anyhow!("{e}"))?
        .label("reward per step")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
    let end = rewards.len() as f64;
    chart
        .draw_series(LineSeries::new(
            [(1.0, a + b), (end, a + b * end)],
            RED.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label(format!("trend: {b:+.3} per step"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 16))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// A horizontal reference line on a training curve.
pub struct Reference {
    pub label: String,
    pub value: f64,
    pub color: RGBColor,
}

/// `episode_reward_mean` over iterations, with reference lines (random baseline, optimum).
pub fn training_curve(
    path: &Path,
    title: &str,
    x_desc: &str,
    points: &[(f64, f64)],
    references: &[Reference],
) -> Result<()> {
    fonts();
    let values = points
        .iter()
        .map(|p| p.1)
        .chain(references.iter().map(|r| r.value));
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    let x_max = points.last().map_or(1.0, |p| p.0).max(1.0);
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, padded(lo, hi))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("episode_reward_mean (last 100 episodes)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style((FONT, 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("episode_reward_mean")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    for r in references {
        let color = r.color;
        chart
            .draw_series(LineSeries::new(
                [(0.0, r.value), (x_max, r.value)],
                color.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label(format!("{} ({:.1})", r.label, r.value))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 16))
        // Curves start low and the reference lines sit high: the middle stays clear.
        .position(SeriesLabelPosition::MiddleRight)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// One bar of a comparison chart: a mean with its 95% interval.
pub struct Bar {
    pub label: String,
    pub mean: f64,
    pub ci95: [f64; 2],
}

/// Mean evaluated return per policy with 95% intervals, the axis zoomed to the bars.
pub fn comparison_chart(path: &Path, title: &str, bars: &[Bar]) -> Result<()> {
    fonts();
    let lo = bars.iter().map(|b| b.ci95[0]).fold(f64::INFINITY, f64::min);
    let hi = bars
        .iter()
        .map(|b| b.ci95[1])
        .fold(f64::NEG_INFINITY, f64::max);
    let y = padded(lo, hi);
    let n = bars.len() as f64;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5..(n - 0.5), y.clone())
        .map_err(|e| anyhow!("{e}"))?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("mean episode return (95% interval)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let palette = [
        RGBColor(90, 120, 200),
        RGBColor(230, 120, 0),
        RGBColor(0, 140, 60),
        RGBColor(200, 60, 60),
        RGBColor(140, 90, 180),
        RGBColor(120, 120, 120),
        RGBColor(40, 160, 170),
        RGBColor(180, 150, 30),
    ];
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64;
        let color = palette[i % palette.len()];
        chart
            .draw_series([Rectangle::new(
                [(x - 0.35, y.start), (x + 0.35, b.mean)],
                color.mix(0.75).filled(),
            )])
            .map_err(|e| anyhow!("{e}"))?;
        let whisker =
            |v: f64| PathElement::new([(x - 0.12, v), (x + 0.12, v)], BLACK.stroke_width(2));
        chart
            .draw_series([
                PathElement::new([(x, b.ci95[0]), (x, b.ci95[1])], BLACK.stroke_width(2)),
                whisker(b.ci95[0]),
                whisker(b.ci95[1]),
            ])
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series([Text::new(
                format!("{:.1}", b.mean),
                (x - 0.25, b.ci95[1] + (y.end - y.start) * 0.045),
                (FONT, 16),
            )])
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_fit_recovers_a_line() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 - 0.5 * x).collect();
        let (a, b) = linear_fit(&xs, &ys);
        assert!((a - 2.0).abs() < 1e-12 && (b + 0.5).abs() < 1e-12);
    }
}
