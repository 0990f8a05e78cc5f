//! The report's figures as PNG/GIF files, and a markdown summary with its tables.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use image::{
    codecs::gif::GifEncoder, Delay, DynamicImage, Frame, GrayImage, ImageFormat, Luma, RgbImage,
    RgbaImage,
};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::args::{digits_for, missing_digits};
use crate::atomic::{write_atomic, AtomicFile};

use vae_lab::data::Split;
use vae_lab::lab::COLLAPSE_DIGITS;
use vae_lab::model::PRESETS;
use vae_lab::rng::Rng;
use vae_lab::{analysis, cpu_device, read_f32, CollapseStats, WeightsFile};

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

/// `n` digits (784 floats each, [0,1]) in rows of `cols`, each pixel `scale` x `scale`,
/// white ink on black as in MNIST, one pixel of grey between digits.
pub fn digit_grid(pixels: &[f32], n: usize, cols: usize, scale: u32) -> GrayImage {
    let cols = cols.max(1).min(n.max(1));
    let rows = n.div_ceil(cols);
    let cell = 28 * scale + 1;
    let mut img = GrayImage::from_pixel(cols as u32 * cell + 1, rows as u32 * cell + 1, Luma([90]));
    for k in 0..n {
        let (ox, oy) = ((k % cols) as u32 * cell + 1, (k / cols) as u32 * cell + 1);
        for y in 0..28 * scale {
            for x in 0..28 * scale {
                let v = pixels[k * 784 + (y / scale * 28 + x / scale) as usize];
                img.put_pixel(
                    ox + x,
                    oy + y,
                    Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8]),
                );
            }
        }
    }
    img
}

/// An image encoded in memory (PNG, or what the name's extension asks for) and written with
/// [`write_atomic`].
pub fn save_image(img: impl Into<DynamicImage>, out: &Path) -> Result<()> {
    let format = ImageFormat::from_path(out).unwrap_or(ImageFormat::Png);
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.into()
        .write_to(&mut bytes, format)
        .with_context(|| format!("cannot encode {}", out.display()))?;
    write_atomic(out, bytes.get_ref())
}

/// Chain frames to an animated GIF as they come (100 ms each; the last one held for 2 s), so a
/// long chain never sits in memory. Drop it, then commit the file.
pub struct ChainGif<'a> {
    gif: GifEncoder<&'a mut AtomicFile>,
    n: usize,
    cols: usize,
}

impl<'a> ChainGif<'a> {
    pub fn new(file: &'a mut AtomicFile, n: usize, cols: usize) -> Result<Self> {
        let mut gif = GifEncoder::new_with_speed(file, 10);
        gif.set_repeat(image::codecs::gif::Repeat::Infinite)?;
        Ok(Self { gif, n, cols })
    }

    pub fn frame(&mut self, pixels: &[f32], last: bool) -> Result<()> {
        let grey = digit_grid(pixels, self.n, self.cols, 2);
        let rgba = RgbaImage::from_fn(grey.width(), grey.height(), |x, y| {
            let v = grey.get_pixel(x, y).0[0];
            image::Rgba([v, v, v, 255])
        });
        let ms = if last { 2000 } else { 100 };
        self.gif.encode_frame(Frame::from_parts(
            rgba,
            0,
            0,
            Delay::from_numer_denom_ms(ms, 1),
        ))?;
        Ok(())
    }
}

/// Every chain frame as one GIF frame.
pub fn chain_gif(frames: &[Vec<f32>], n: usize, cols: usize, out: &Path) -> Result<()> {
    let mut file = AtomicFile::create(out)?;
    let mut gif = ChainGif::new(&mut file, n, cols)?;
    for (i, f) in frames.iter().enumerate() {
        gif.frame(f, i + 1 == frames.len())?;
    }
    drop(gif); // writes the GIF's trailer
    file.commit()
}

/// A 900 × 560 plot on white, drawn by `draw` in memory and saved as a PNG.
/// The legend box every report chart draws: white, black border, 16 px labels.
fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

fn plot(
    out: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    const SIZE: (u32, u32) = (900, 560);
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let img = RgbImage::from_raw(SIZE.0, SIZE.1, rgb).context("plot buffer size")?;
    save_image(img, out)
}

/// plotters draws text with ab_glyph, which needs a font registered from bytes.
fn register_font() -> Result<()> {
    const CANDIDATES: [&str; 3] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];
    for path in CANDIDATES {
        if let Ok(bytes) = std::fs::read(path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
    }
    bail!("no TrueType font found for the plots (install fonts-dejavu-core); looked in {CANDIDATES:?}")
}

struct Loaded {
    label: String,
    file: WeightsFile,
    model: vae_lab::Vae,
}

fn curves(
    models: &[Loaded],
    out: &Path,
    title: &str,
    pick: impl Fn(&vae_lab::training::EpochRecord) -> f64,
) -> Result<()> {
    let series: Vec<(String, Vec<(f64, f64)>)> = models
        .iter()
        .map(|m| {
            let hist = m.file.meta.history.clone().unwrap_or_default();
            (
                m.label.clone(),
                hist.iter().map(|r| (r.epoch as f64, pick(r))).collect(),
            )
        })
        .collect();
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .collect();
    if all.is_empty() {
        bail!("the weights files carry no training history to plot");
    }
    let epochs = series.iter().map(|(_, s)| s.len()).max().unwrap_or(1) as f64;
    let lo = all.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = all.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let pad = (hi - lo).abs().max(1.0) * 0.05;
    plot(out, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..epochs.max(2.0), (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(title)
            .label_style(("sans-serif", 15))
            .draw()?;
        for (i, (label, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
        }
        draw_legend(&mut chart)
    })
}

/// Fig. 3: how many latents fall into each KL bin, per model (bars side by side).
fn kl_histogram(models: &[Loaded], stats: &[CollapseStats], out: &Path) -> Result<()> {
    let max_kl = stats
        .iter()
        .flat_map(|s| s.kl_per_latent.iter().cloned())
        .fold(0.0f32, f32::max)
        .max(0.1);
    let bins = vae_lab::lab::COLLAPSE_BINS;
    let width = max_kl as f64 * 1.0001 / bins as f64;
    let counts: Vec<Vec<usize>> = stats
        .iter()
        .map(|s| {
            let mut c = vec![0; bins];
            for &v in &s.kl_per_latent {
                c[((v as f64 / width) as usize).min(bins - 1)] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().cloned().max().unwrap_or(1) as f64;
    plot(out, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Per-latent KL over {COLLAPSE_DIGITS} held-out digits"),
                ("sans-serif", 24),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..width * bins as f64, 0.0..top + 1.0)?;
        chart
            .configure_mesh()
            .x_desc("mean KL(q(z_i|x) || N(0,1)) [nats]")
            .y_desc("latents")
            .label_style(("sans-serif", 15))
            .draw()?;
        let bar = width / (models.len() as f64 + 1.0);
        for (m, c) in counts.iter().enumerate() {
            let color = COLORS[m % COLORS.len()];
            chart
                .draw_series(c.iter().enumerate().filter(|(_, &k)| k > 0).map(|(b, &k)| {
                    let x0 = b as f64 * width + bar * (m as f64 + 0.5);
                    Rectangle::new([(x0, 0.0), (x0 + bar, k as f64)], color.filled())
                }))?
                .label(format!(
                    "{} ({} active)",
                    models[m].label, stats[m].active_units
                ))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
        }
        draw_legend(&mut chart)
    })
}

/// Everything of the report for the weights in `dir`.
/// The digits are `data`, or the shipped subset of the dataset the weights were trained on.
pub fn report(dir: &Path, data: Option<&Path>, out: &Path, seed: u64) -> Result<()> {
    register_font()?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    let mut models = Vec::new();
    for (name, _) in PRESETS {
        let path = dir.join(format!("{name}.bin"));
        if path.exists() {
            let file = WeightsFile::read(&path)?;
            let model = file.to_model(&cpu_device())?;
            models.push(Loaded {
                label: name.to_string(),
                file,
                model,
            });
        }
    }
    if models.is_empty() {
        bail!("no A.bin .. E.bin in {}", dir.display());
    }
    let weights_of = |m: &Loaded| dir.join(format!("{}.bin", m.label));
    let data = &digits_for(data, &weights_of(&models[0]), &models[0].file, "--data");
    for m in &models[1..] {
        digits_for(Some(data), &weights_of(m), &m.file, "--data"); // a note if it differs
    }
    if !data.exists() {
        bail!("{}", missing_digits(data, "--data", "as `vae data` writes"));
    }
    let bytes = vae_lab::files::read_maybe_gz(data)?;
    let split = Split::from_subset_bytes(&bytes, &data.display().to_string())?;
    let mut written = Vec::new();
    let mut save = |name: &str| {
        written.push(name.to_string());
        out.join(name)
    };
    curves(
        &models,
        &save("fig01-nelbo.png"),
        "training nELBO [nats/image]",
        |r| r.train.nelbo,
    )?;
    curves(
        &models,
        &save("fig02-kl.png"),
        "training KL [nats/image]",
        |r| r.train.kl,
    )?;
    curves(
        &models,
        &save("fig01b-heldout-nelbo.png"),
        "held-out nELBO [nats/image]",
        |r| r.test.nelbo,
    )?;

    let test256 = split.test.head(COLLAPSE_DIGITS);
    let stats: Vec<CollapseStats> = models
        .iter()
        .map(|m| Ok(analysis::collapse_stats(&m.model, &test256, &cpu_device())?))
        .collect::<Result<_>>()?;
    kl_histogram(&models, &stats, &save("fig03-kl-histogram.png"))?;

    // Fig. 4: 16 held-out digits (rows); columns: original, A..E reconstructed from a sampled z
    let mut rng = Rng::new(seed);
    let mut pick: Vec<usize> = (0..split.test.len()).collect();
    rng.shuffle(&mut pick);
    pick.truncate(16);
    let device = cpu_device();
    let originals = split.test.floats(&pick);
    let recs: Vec<Vec<f32>> = models
        .iter()
        .map(|m| {
            Ok(read_f32(analysis::reconstruct(
                &m.model,
                split.test.batch(&pick, &device),
                Some(&mut rng.fork()),
            ))?)
        })
        .collect::<Result<_>>()?;
    let cols = models.len() + 1;
    let mut grid = Vec::with_capacity(16 * cols * 784);
    for row in 0..pick.len() {
        grid.extend_from_slice(&originals[row * 784..(row + 1) * 784]);
        for r in &recs {
            grid.extend_from_slice(&r[row * 784..(row + 1) * 784]);
        }
    }
    save_image(
        digit_grid(&grid, pick.len() * cols, cols, 2),
        &save("fig04-reconstructions.png"),
    )?;

    for (i, m) in models.iter().enumerate() {
        let samples = read_f32(analysis::sample(&m.model, 60, &mut Rng::new(seed + 1)))?;
        save_image(
            digit_grid(&samples, 60, 10, 2),
            &save(&format!("fig{:02}-samples-{}.png", 5 + i, m.label)),
        )?;
        let frames = vae_lab::FixedPointChain { steps: 100 }
            .run(&m.model, 60, None, &mut Rng::new(seed + 2))
            .into_iter()
            .map(read_f32)
            .collect::<Result<Vec<_>, _>>()?;
        save_image(
            digit_grid(frames.last().unwrap(), 60, 10, 2),
            &save(&format!("fig{:02}-chain-last-{}.png", 10 + i, m.label)),
        )?;
        chain_gif(&frames, 60, 10, &save(&format!("chain-{}.gif", m.label)))?;
    }

    let mut md = String::new();
    writeln!(
        md,
        "# VAE Lab report\n\nWeights from `{}`, digits from `{}` (test split: {} digits).\n",
        dir.display(),
        data.display(),
        split.test.len()
    )?;
    writeln!(md, "| model | parameters | encoder hidden | train nELBO | train KL | held-out nELBO | sigma | active units ({COLLAPSE_DIGITS} test) | epochs | train time |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|")?;
    for (m, s) in models.iter().zip(&stats) {
        let meta = &m.file.meta;
        let f = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
        writeln!(
            md,
            "| {} | {} | {:?} | {} | {} | {} | {:.4} | {} | {} | {} s |",
            m.label,
            m.file.arch.param_count(),
            m.file.arch.hidden,
            f(meta.train_nelbo),
            f(meta.train_kl),
            f(meta.test_nelbo),
            m.file.sigma(),
            s.active_units,
            meta.epochs
                .map(|e| e.to_string())
                .unwrap_or_else(|| "–".into()),
            f(meta.train_seconds)
        )?;
    }
    writeln!(
        md,
        "\nPer-latent KL (nats, {COLLAPSE_DIGITS} held-out digits):\n"
    )?;
    for (m, s) in models.iter().zip(&stats) {
        let v: Vec<String> = s.kl_per_latent.iter().map(|k| format!("{k:.2}")).collect();
        writeln!(md, "- {}: {}", m.label, v.join(", "))?;
    }
    writeln!(md, "\nFigures:\n")?;
    for name in &written {
        writeln!(md, "- [{name}]({name})")?;
    }
    write_atomic(&out.join("summary.md"), md.as_bytes())?;
    println!(
        "wrote {} files and summary.md to {}",
        written.len(),
        out.display()
    );
    Ok(())
}
