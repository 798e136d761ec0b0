//! PNG figures in one style: one helper sets up every chart, one colour per policy across
//! every chart, every file written to a temporary name and renamed, and data that is not
//! finite refused before any drawing.

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use rollout::Episode;

const SIZE: (u32, u32) = (900, 560);
const FONT: &str = "sans-serif";

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font travels inside the binary, so plots need no system fonts.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}")
}

/// The colour of a policy or reference line, the same in every chart: the planner's
/// lines green and orange, random red, each algorithm its own.
pub fn color_of(name: &str) -> RGBColor {
    let key = name.split_whitespace().next().unwrap_or(name);
    match key {
        "random" => RGBColor(200, 60, 60),
        "greedy" => RGBColor(90, 120, 200),
        "kale" => RGBColor(40, 160, 170),
        "linucb" => RGBColor(140, 90, 180),
        "lints" => RGBColor(180, 150, 30),
        "slateq" => RGBColor(20, 20, 140),
        "optimal" => RGBColor(0, 140, 60),
        "optimal-stationary" => RGBColor(230, 120, 0),
        _ => {
            // Any other name: a stable colour from its letters.
            let h = name
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            RGBColor(
                40 + (h % 160) as u8,
                40 + (h / 160 % 160) as u8,
                40 + (h / 25600 % 160) as u8,
            )
        }
    }
}

/// The colour of the `k`-th of several configurations, the same in a sweep's every chart:
/// ten dark enough to read on white (no yellow), then again.
pub fn series_color(k: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(230, 120, 0),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(90, 90, 90),
        RGBColor(23, 160, 180),
        RGBColor(20, 20, 140),
    ];
    PALETTE[k % PALETTE.len()]
}

/// Refuses data with a value that is not a finite number, naming it.
fn check_finite<'a>(what: &str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    if let Some(v) = values.into_iter().find(|v| !v.is_finite()) {
        bail!("cannot plot {what}: it holds {v}, which is not a finite number");
    }
    Ok(())
}

/// `[lo, hi]` widened by 8% each side (and never empty).
fn padded(lo: f64, hi: f64) -> Range<f64> {
    let pad = ((hi - lo) * 0.08).max(1e-6 * hi.abs().max(1.0));
    (lo - pad)..(hi + pad)
}

/// The bounds of some values.
fn bounds(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// Decimals that tell neighbouring ticks of an axis spanning `range` apart.
fn decimals(range: &Range<f64>) -> usize {
    let step = (range.end - range.start) / 6.0;
    if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize + 1
    }
}

/// Draws a figure into the PNG at `path`: drawn and encoded in memory, then written
/// atomically, so a failed drawing leaves an existing file as it was and a failed write
/// is reported as the I/O error it is.
fn render(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area) -> Result<()>) -> Result<()> {
    fonts();
    let (width, height) = size;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&rgb))
        .context("encoding the PNG")?;
    storage::write_atomic(path, &png_bytes)?;
    Ok(())
}

/// A chart on `area` with a caption, axes and their descriptions, and `y_decimals`
/// digits on the y ticks.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    x: Range<f64>,
    y: Range<f64>,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart<'a, 'b>> {
    let digits = decimals(&y);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .y_labels(6)
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.digits$}"))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// Axes for one column per label (a policy, an estimator), on a y range zoomed to `y`.
fn categorical_chart<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    labels: &[String],
    y: Range<f64>,
    y_desc: &str,
) -> Result<Chart<'a, 'b>> {
    let digits = decimals(&y);
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..(n - 0.5), y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{v:.digits$}"))
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The series labels of a chart, in a box at `position`.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(position)
        .draw()
        .map_err(err)
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

/// One episode, step by step, in stacked panels: the reward with its trend; the document
/// served first, where it is one number (LTS's clickbait); and the user's true state.
pub fn episode(path: &Path, title: &str, episode: &Episode) -> Result<()> {
    let steps = &episode.steps;
    let rewards: Vec<f64> = steps.iter().map(|s| s.transition.reward).collect();
    check_finite("the rewards", &rewards)?;
    let served: Option<Vec<f64>> = steps
        .iter()
        .map(|s| (s.served.len() == 1).then(|| s.served[0]))
        .collect();
    let states = steps.first().map_or(0, |s| s.user_state.len());
    check_finite("the user's state", steps.iter().flat_map(|s| &s.user_state))?;
    let xs: Vec<f64> = (1..=steps.len()).map(|t| t as f64).collect();
    // Three tenths more on the right, where the legends sit, clear of the last steps.
    let x = 0.0..(steps.len() as f64 * 1.3 + 1.0);
    render(path, (900, 860), |root| {
        let panels = 1 + usize::from(served.is_some()) + usize::from(states > 0);
        let (top, rest) = root.split_vertically(36);
        top.titled(title, (FONT, 20)).map_err(err)?;
        let areas = rest.split_evenly((panels, 1));
        let mut areas = areas.iter();
        let area = areas.next().expect("one panel at least");
        let (lo, hi) = bounds(rewards.iter().copied());
        let mut c = chart(area, "", x.clone(), padded(lo, hi), "step", "reward")?;
        c.draw_series(
            xs.iter()
                .zip(&rewards)
                .map(|(&x, &y)| Circle::new((x, y), 3, BLUE.mix(0.7).filled())),
        )
        .map_err(err)?
        .label("reward per step")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
        let (a, b) = linear_fit(&xs, &rewards);
        let end = steps.len() as f64;
        c.draw_series(LineSeries::new(
            [(1.0, a + b), (end, a + b * end)],
            RED.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("trend: {b:+.3} per step"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        if let Some(served) = &served {
            let area = areas.next().expect("a panel per series");
            let mut c = chart(
                area,
                "",
                x.clone(),
                -0.05..1.05,
                "step",
                "first slot's clickbait",
            )?;
            c.draw_series(
                xs.iter()
                    .zip(served)
                    .map(|(&x, &y)| Circle::new((x, y), 3, color_of("greedy").filled())),
            )
            .map_err(err)?;
        }
        if states > 0 {
            let area = areas.next().expect("a panel per series");
            let (lo, hi) = bounds(steps.iter().flat_map(|s| s.user_state.iter().copied()));
            let label = if states == 1 {
                episode.user_features[0].replace('_', " ")
            } else {
                "the user's true state".into()
            };
            let mut c = chart(area, "", x.clone(), padded(lo, hi), "step", &label)?;
            for (k, name) in episode.user_features.iter().enumerate() {
                let color = series_color(k);
                c.draw_series(LineSeries::new(
                    xs.iter().zip(steps).map(|(&x, s)| (x, s.user_state[k])),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.replace('_', " "))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
            legend(&mut c, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

/// A horizontal reference line, and a policy evaluated without exploration.
pub use trainer::{Point, Reference};

/// `episode_reward_mean` over iterations (under exploration) in the colour of `policy`, the
/// evaluations without exploration with their intervals, and reference lines (random
/// baseline, the planner's values).
pub fn training_curve(
    path: &Path,
    title: &str,
    x_desc: &str,
    policy: &str,
    training: &[(f64, f64)],
    evaluations: &[Point],
    references: &[Reference],
) -> Result<()> {
    check_finite("the training curve", training.iter().map(|p| &p.1))?;
    check_finite(
        "the evaluations",
        evaluations
            .iter()
            .flat_map(|p| [&p.mean, &p.ci95[0], &p.ci95[1]]),
    )?;
    check_finite("the reference lines", references.iter().map(|r| &r.value))?;
    let values = training
        .iter()
        .map(|p| p.1)
        .chain(evaluations.iter().flat_map(|p| p.ci95))
        .chain(references.iter().map(|r| r.value));
    let (lo, hi) = bounds(values);
    if !lo.is_finite() {
        bail!("nothing to plot: no episode finished and nothing was evaluated");
    }
    let x_max = training
        .iter()
        .map(|p| p.0)
        .chain(evaluations.iter().map(|p| p.x))
        .fold(1.0, f64::max);
    render(path, SIZE, |root| {
        let mut c = chart(
            root,
            title,
            0.0..x_max,
            padded(lo, hi),
            x_desc,
            "episode return",
        )?;
        let color = color_of(policy);
        // Offline runs play no training episodes: no curve, and none in the legend.
        if !training.is_empty() {
            c.draw_series(LineSeries::new(
                training.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label("training: episode_reward_mean (last 100 episodes, exploring)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        if !evaluations.is_empty() {
            let dark = RGBColor(20, 20, 20);
            c.draw_series(evaluations.iter().map(|p| {
                PathElement::new([(p.x, p.ci95[0]), (p.x, p.ci95[1])], dark.stroke_width(1))
            }))
            .map_err(err)?;
            c.draw_series(
                evaluations
                    .iter()
                    .map(|p| Circle::new((p.x, p.mean), 4, dark.filled())),
            )
            .map_err(err)?
            .label("evaluated without exploration (95% interval)")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, dark.filled()));
        }
        draw_references(&mut c, references, x_max)?;
        // Curves start low and the reference lines sit high: the middle stays clear.
        legend(&mut c, SeriesLabelPosition::MiddleRight)
    })
}

/// Each reference as a dashed line across the chart (apart from the solid curves, whose
/// colours a sweep's palette may share), in its label's colour, named in the legend with
/// its value.
fn draw_references(c: &mut Chart<'_, '_>, references: &[Reference], x_max: f64) -> Result<()> {
    for r in references {
        let style = color_of(&r.label).stroke_width(2);
        c.draw_series(DashedLineSeries::new(
            [(0.0, r.value), (x_max, r.value)],
            8,
            5,
            style,
        ))
        .map_err(err)?
        .label(format!("{} ({:.1})", r.label, r.value))
        .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 20, y)], 6, 3, style));
    }
    Ok(())
}

/// One policy of a comparison chart.
pub struct Row {
    /// The name under its dot.
    pub label: String,
    /// Its colour: [`color_of`] its policy, or [`series_color`] its configuration.
    pub color: RGBColor,
    /// Its evaluation.
    pub point: Point,
    /// The scores of its runs (seeds), drawn as rings beside the dot; empty for one run.
    pub runs: Vec<f64>,
}

impl Row {
    /// The row of a policy or configuration run on several seeds: the mean with its
    /// t interval, and each seed's score.
    pub fn of_seeds(label: String, color: RGBColor, x: usize, stats: &rollout::RunStats) -> Self {
        Row {
            label,
            color,
            point: Point {
                x: x as f64,
                mean: stats.mean.value,
                ci95: stats.mean.ci95.unwrap_or([stats.mean.value; 2]),
            },
            runs: stats.scores.clone(),
        }
    }
}

/// Mean evaluated return per policy as a dot with its 95% interval, on an axis zoomed to
/// the intervals, with ticks fine enough to tell them apart, each in its policy's colour.
pub fn comparison_chart(path: &Path, title: &str, rows: &[Row]) -> Result<()> {
    check_finite(
        "the comparison",
        rows.iter().flat_map(|r| {
            [&r.point.mean, &r.point.ci95[0], &r.point.ci95[1]]
                .into_iter()
                .chain(&r.runs)
        }),
    )?;
    let (lo, hi) = bounds(
        rows.iter()
            .flat_map(|r| r.point.ci95.into_iter().chain(r.runs.iter().copied())),
    );
    let y = padded(lo, hi);
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    render(path, SIZE, |root| {
        let digits = decimals(&y);
        let mut c = categorical_chart(
            root,
            title,
            &labels,
            y.clone(),
            "mean episode return, 95% interval (axis does not start at 0)",
        )?;
        for (i, row) in rows.iter().enumerate() {
            let (x, p) = (i as f64, &row.point);
            let color = row.color;
            let whisker =
                |v: f64| PathElement::new([(x - 0.1, v), (x + 0.1, v)], color.stroke_width(2));
            c.draw_series([
                PathElement::new([(x, p.ci95[0]), (x, p.ci95[1])], color.stroke_width(2)),
                whisker(p.ci95[0]),
                whisker(p.ci95[1]),
            ])
            .map_err(err)?;
            c.draw_series([Circle::new((x, p.mean), 6, color.filled())])
                .map_err(err)?;
            c.draw_series(
                row.runs
                    .iter()
                    .map(|&v| Circle::new((x - 0.18, v), 4, color.stroke_width(1))),
            )
            .map_err(err)?;
            c.draw_series([Text::new(
                format!("{:.*}", digits.max(1), p.mean),
                (x + 0.12, p.mean),
                (FONT, 14),
            )])
            .map_err(err)?;
        }
        Ok(())
    })
}

/// One configuration's learning curve: at each x the mean over its runs, and the band
/// from the lowest to the highest run.
pub struct Curve {
    /// Its name in the legend.
    pub label: String,
    /// `(x, mean, lowest, highest)`, by x.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Learning curves of several configurations, each a line with its runs' band, in
/// colours told apart by their legend, with reference lines (a baseline, the planner's
/// values) where the configurations share them.
pub fn learning_curves(
    path: &Path,
    title: &str,
    x_desc: &str,
    curves: &[Curve],
    references: &[Reference],
) -> Result<()> {
    check_finite(
        "the learning curves",
        curves
            .iter()
            .flat_map(|c| c.points.iter().flat_map(|p| [&p.1, &p.2, &p.3])),
    )?;
    check_finite("the reference lines", references.iter().map(|r| &r.value))?;
    let points = || curves.iter().flat_map(|c| c.points.iter());
    let (lo, hi) = bounds(
        points()
            .flat_map(|p| [p.2, p.3])
            .chain(references.iter().map(|r| r.value)),
    );
    if !lo.is_finite() {
        bail!("nothing to plot: no run finished an episode");
    }
    let x_max = points().map(|p| p.0).fold(1.0, f64::max);
    render(path, SIZE, |root| {
        let mut c = chart(
            root,
            title,
            0.0..x_max,
            padded(lo, hi),
            x_desc,
            "episode return",
        )?;
        for (k, curve) in curves.iter().enumerate() {
            let color = series_color(k);
            let band: Vec<(f64, f64)> = curve
                .points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(curve.points.iter().rev().map(|p| (p.0, p.2)))
                .collect();
            c.draw_series([Polygon::new(band, color.mix(0.18).filled())])
                .map_err(err)?;
            c.draw_series(LineSeries::new(
                curve.points.iter().map(|p| (p.0, p.1)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(curve.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        draw_references(&mut c, references, x_max)?;
        legend(&mut c, SeriesLabelPosition::LowerRight)
    })
}

/// One estimator's estimates, one per log set: the value and its 95% interval.
pub struct Estimates {
    /// The estimator's name.
    pub label: String,
    /// `(estimate, interval)` per log set with an estimate.
    pub points: Vec<(f64, [f64; 2])>,
}

/// Every estimator's estimates side by side, each log set a dot with its interval (spread
/// sideways so that they do not hide each other), and the true value as a line. The axis
/// spans the estimates; an interval reaching beyond it ends at its edge in an arrowhead,
/// where the others end in a bar.
pub fn estimates_chart(
    path: &Path,
    title: &str,
    series: &[Estimates],
    truth: Option<(&str, f64)>,
) -> Result<()> {
    let value = truth.map(|t| t.1);
    check_finite(
        "the estimates",
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| &p.0))
            .chain(value.as_ref()),
    )?;
    // One estimate per estimator (one log): its whole interval fits, so that the chart
    // shows how much it allows; over many logs, the estimates' spread sets the scale.
    let single = series.iter().all(|s| s.points.len() <= 1);
    let (lo, hi) = bounds(
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .flat_map(|p| {
                let ends = if single { [p.1[0], p.1[1]] } else { [p.0, p.0] };
                [p.0]
                    .into_iter()
                    .chain(ends.into_iter().filter(|x| x.is_finite()))
            })
            .chain(value),
    );
    if !lo.is_finite() {
        bail!("cannot plot the estimates: no estimator gave one");
    }
    let span = (hi - lo).max(1e-3 * hi.abs().max(1.0));
    let y = (lo - 0.35 * span)..(hi + 0.35 * span);
    let n = series.len() as f64;
    let labels: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    render(path, (1100, 600), |root| {
        let digits = decimals(&y);
        let mut c = categorical_chart(
            root,
            title,
            &labels,
            y.clone(),
            "estimate, 95% interval (▲▼: cut at the edge; axis does not start at 0)",
        )?;
        if let Some((name, t)) = truth {
            let green = color_of("optimal");
            c.draw_series([PathElement::new(
                [(-0.5, t), (n - 0.5, t)],
                green.stroke_width(2),
            )])
            .map_err(err)?
            .label(format!("{name} {t:.*}", digits + 1))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], green.stroke_width(2)));
            legend(&mut c, SeriesLabelPosition::UpperRight)?;
        }
        let clamp = |v: f64| v.clamp(y.start, y.end);
        for (i, s) in series.iter().enumerate() {
            let color = color_of(&s.label);
            let m = s.points.len().max(1) as f64;
            if s.points.is_empty() {
                c.draw_series([Text::new(
                    "no estimate".to_string(),
                    (i as f64 - 0.3, (y.start + y.end) / 2.0),
                    (FONT, 12),
                )])
                .map_err(err)?;
            }
            for (j, (value, ci)) in s.points.iter().enumerate() {
                let x = i as f64
                    + if m > 1.0 {
                        0.6 * (j as f64 / (m - 1.0) - 0.5)
                    } else {
                        0.0
                    };
                let (a, b) = (clamp(ci[0]), clamp(ci[1]));
                c.draw_series([PathElement::new(
                    [(x, a), (x, b)],
                    color.mix(0.6).stroke_width(1),
                )])
                .map_err(err)?;
                // Each end: a bar where the interval ends, an arrowhead where it is cut.
                let tip = 0.03 * (y.end - y.start);
                for (end, cut, inward) in [(a, ci[0] < y.start, tip), (b, ci[1] > y.end, -tip)] {
                    if cut {
                        c.draw_series([Polygon::new(
                            [(x - 0.04, end + inward), (x + 0.04, end + inward), (x, end)],
                            color.filled(),
                        )])
                        .map_err(err)?;
                    } else {
                        c.draw_series([PathElement::new(
                            [(x - 0.02, end), (x + 0.02, end)],
                            color.stroke_width(1),
                        )])
                        .map_err(err)?;
                    }
                }
                c.draw_series([Circle::new((x, *value), 3, color.filled())])
                    .map_err(err)?;
            }
        }
        Ok(())
    })
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

    #[test]
    fn non_finite_data_is_refused_before_drawing_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("curve.png");
        std::fs::write(&png, b"an existing figure").unwrap();
        let err = training_curve(&png, "t", "x", "linucb", &[(1.0, f64::INFINITY)], &[], &[])
            .unwrap_err();
        assert!(err.to_string().contains("not a finite number"), "{err}");
        assert_eq!(std::fs::read(&png).unwrap(), b"an existing figure");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn ticks_have_the_digits_their_spacing_needs() {
        assert_eq!(decimals(&(1150.0..1200.0)), 0);
        assert_eq!(decimals(&(1155.0..1158.0)), 2);
        assert_eq!(decimals(&(0.0..0.04)), 4);
        assert_eq!(color_of("slateq"), color_of("slateq (run-a)"));
    }
}
