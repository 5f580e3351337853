//! What "the accelerator's output agrees with the reference" means for the
//! model's task. Top-1 agreement is the measure for a classifier and says
//! nothing about a dense probability map or a per-timestep recogniser, so the
//! report picks a measure from the output's shape and says which it picked:
//!
//! - `classify` (N x C, C > 1): top-1 agreement per row, labels changed,
//!   accuracy against true labels;
//! - `dense` (N x C x H x W): per-pixel argmax agreement over C; for a single
//!   channel, the IoU of the masks thresholded at `threshold` (a probability
//!   map); SQNR either way;
//! - `sequence` (N x T x C, C > 1): per-step argmax agreement, and
//!   whole-sequence agreement after CTC greedy decoding (repeats collapsed,
//!   the blank class dropped);
//! - `regress` (anything else): SQNR, max and mean absolute error.
//!
//! Every statistic is a running sum over samples, so nothing here keeps a
//! tensor.

use serde::Serialize;

/// The kind of output a model produces, which decides the measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classify,
    Dense,
    Sequence,
    Regress,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Classify => "classify",
            Task::Dense => "dense",
            Task::Sequence => "sequence",
            Task::Regress => "regress",
        }
    }
}

/// The threshold of a single-channel dense map when none is given: the
/// usual cut of a probability map.
pub const DEFAULT_THRESHOLD: f64 = 0.3;

/// What the user said about the task (all optional).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TaskOptions {
    /// `--task`; picked from the output shape when `None`.
    pub task: Option<Task>,
    /// `--threshold` for single-channel dense maps.
    pub threshold: Option<f64>,
    /// `--blank`: the CTC blank class of a sequence output.
    pub blank: usize,
}

/// Why an output cannot be measured as the chosen task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TaskError(pub String);

/// The task picked for an output of `shape` (one sample's output, batch
/// axis included), and why.
pub fn choose(shape: &[usize], options: &TaskOptions) -> Result<(Task, String), TaskError> {
    let shape_text = format!("{shape:?}");
    if let Some(task) = options.task {
        let fits = match task {
            Task::Classify => !shape.is_empty(),
            Task::Dense => shape.len() == 4,
            Task::Sequence => shape.len() == 3,
            Task::Regress => true,
        };
        if !fits {
            let wanted = match task {
                Task::Classify => "at least one axis (classes last)",
                Task::Dense => "N x C x H x W",
                Task::Sequence => "N x T x C",
                Task::Regress => "any shape",
            };
            return Err(TaskError(format!(
                "--task {} needs an output of {wanted}; the model's output is {shape_text}",
                task.name()
            )));
        }
        return Ok((task, format!("--task {}", task.name())));
    }
    let last = shape.last().copied().unwrap_or(1);
    let (task, why) = match shape.len() {
        1 | 2 if last > 1 => (Task::Classify, "N x C with C > 1"),
        3 if last > 1 => (Task::Sequence, "N x T x C with C > 1"),
        4 => (Task::Dense, "N x C x H x W"),
        _ => (Task::Regress, "not N x C, N x T x C or N x C x H x W"),
    };
    Ok((
        task,
        format!("picked from the output shape {shape_text} ({why}); override with --task"),
    ))
}

/// How a measure's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A share in [0, 1], shown as a percentage.
    Fraction,
    /// A count.
    Count,
    /// Decibels (infinite when exact).
    Decibel,
    /// In the output's own units.
    Value,
}

/// One named figure of a task's measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// Stable name, e.g. `top1_agreement`, `iou`, `sequence_agreement`.
    pub name: &'static str,
    /// What it is, in a few words (at most 17 characters, so that the
    /// terminal report's columns line up).
    pub label: &'static str,
    pub value: f64,
    pub unit: Unit,
}

/// The task's measure of one design's run against the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskReport {
    pub task: Task,
    /// How the task was picked: `--task ...` or from the output shape.
    pub chosen: String,
    /// Samples compared.
    pub samples: usize,
    /// The measures, headline first.
    pub measures: Vec<Measure>,
    /// Caveats (e.g. a probability threshold applied to values outside
    /// [0, 1]).
    pub notes: Vec<String>,
}

impl TaskReport {
    /// A measure by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.measures
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// The headline measure.
    pub fn headline(&self) -> Option<&Measure> {
        self.measures.first()
    }
}

/// Index of the largest value (the first of equals).
fn argmax_strided(values: &[f32], start: usize, count: usize, stride: usize) -> usize {
    let mut best = 0;
    for i in 1..count {
        if values[start + i * stride] > values[start + best * stride] {
            best = i;
        }
    }
    best
}

/// CTC greedy decoding of one sequence of per-step classes: repeats
/// collapsed, then the blank dropped.
pub fn ctc_collapse(steps: &[usize], blank: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut previous = None;
    for &s in steps {
        if Some(s) != previous && s != blank {
            out.push(s);
        }
        previous = Some(s);
    }
    out
}

/// Running statistics of a task's measure over a data set.
#[derive(Debug, Clone)]
pub struct TaskStats {
    task: Task,
    chosen: String,
    /// One sample's output shape.
    shape: Vec<usize>,
    threshold: f64,
    threshold_given: bool,
    blank: usize,
    samples: usize,
    labelled: bool,
    // classify
    rows: u64,
    rows_agree: u64,
    correct: u64,
    // dense and sequence positions (pixels or steps)
    positions: u64,
    positions_agree: u64,
    intersection: u64,
    union: u64,
    outside_unit: bool,
    sequences: u64,
    sequences_agree: u64,
    // error
    elements: u64,
    signal: f64,
    noise: f64,
    max_abs: f64,
    abs_sum: f64,
}

impl TaskStats {
    /// Statistics for outputs of `shape`. `labelled`: whether true labels
    /// come with the samples (classification only, one per sample).
    pub fn new(shape: &[usize], options: &TaskOptions, labelled: bool) -> Result<Self, TaskError> {
        let (task, chosen) = choose(shape, options)?;
        if labelled && task != Task::Classify {
            return Err(TaskError(format!(
                "labels are for classification; this output is measured as {} ({chosen})",
                task.name()
            )));
        }
        let rows = shape.iter().rev().skip(1).product::<usize>();
        if labelled && rows != 1 {
            return Err(TaskError(format!(
                "one label per sample needs one row of class scores per sample; the output {shape:?} has {rows}"
            )));
        }
        if let Some(t) = options.threshold {
            if !t.is_finite() {
                return Err(TaskError(format!("--threshold {t} is not a finite number")));
            }
        }
        if task == Task::Sequence && options.blank >= shape[2] {
            return Err(TaskError(format!(
                "--blank {} is not one of the output's {} classes",
                options.blank, shape[2]
            )));
        }
        Ok(Self {
            task,
            chosen,
            shape: shape.to_vec(),
            threshold: options.threshold.unwrap_or(DEFAULT_THRESHOLD),
            threshold_given: options.threshold.is_some(),
            blank: options.blank,
            samples: 0,
            labelled,
            rows: 0,
            rows_agree: 0,
            correct: 0,
            positions: 0,
            positions_agree: 0,
            intersection: 0,
            union: 0,
            outside_unit: false,
            sequences: 0,
            sequences_agree: 0,
            elements: 0,
            signal: 0.0,
            noise: 0.0,
            max_abs: 0.0,
            abs_sum: 0.0,
        })
    }

    pub fn task(&self) -> Task {
        self.task
    }

    /// Adds one sample: `reference` from tract, `test` from the accelerator
    /// run, both of the shape given to [`TaskStats::new`], and its true label.
    pub fn add(&mut self, reference: &[f32], test: &[f32], label: Option<i64>) {
        let len = reference.len().min(test.len());
        let (reference, test) = (&reference[..len], &test[..len]);
        self.samples += 1;
        for (&r, &t) in reference.iter().zip(test) {
            let (r, t) = (f64::from(r), f64::from(t));
            let e = (t - r).abs();
            self.signal += r * r;
            self.noise += e * e;
            self.max_abs = self.max_abs.max(e);
            self.abs_sum += e;
        }
        self.elements += len as u64;
        match self.task {
            Task::Classify => self.add_classify(reference, test, label),
            Task::Dense => self.add_dense(reference, test),
            Task::Sequence => self.add_sequence(reference, test),
            Task::Regress => {}
        }
    }

    fn add_classify(&mut self, reference: &[f32], test: &[f32], label: Option<i64>) {
        let classes = self.shape.last().copied().unwrap_or(1).max(1);
        for (r, t) in reference
            .chunks_exact(classes)
            .zip(test.chunks_exact(classes))
        {
            let (want, got) = (
                argmax_strided(r, 0, classes, 1),
                argmax_strided(t, 0, classes, 1),
            );
            self.rows += 1;
            self.rows_agree += u64::from(want == got);
            if self.labelled {
                self.correct += u64::from(label == Some(got as i64));
            }
        }
    }

    fn add_dense(&mut self, reference: &[f32], test: &[f32]) {
        let (images, channels) = (self.shape[0], self.shape[1]);
        let pixels = self.shape[2] * self.shape[3];
        for img in 0..images {
            let base = img * channels * pixels;
            for p in 0..pixels {
                if channels == 1 {
                    let r = reference[base + p];
                    let (want, got) = (
                        f64::from(r) > self.threshold,
                        f64::from(test[base + p]) > self.threshold,
                    );
                    self.outside_unit |= !(0.0..=1.0).contains(&r);
                    self.positions_agree += u64::from(want == got);
                    self.intersection += u64::from(want && got);
                    self.union += u64::from(want || got);
                } else {
                    let want = argmax_strided(reference, base + p, channels, pixels);
                    let got = argmax_strided(test, base + p, channels, pixels);
                    self.positions_agree += u64::from(want == got);
                }
                self.positions += 1;
            }
        }
    }

    fn add_sequence(&mut self, reference: &[f32], test: &[f32]) {
        let (batch, steps, classes) = (self.shape[0], self.shape[1], self.shape[2]);
        for b in 0..batch {
            let decode = |x: &[f32]| -> Vec<usize> {
                (0..steps)
                    .map(|t| argmax_strided(x, (b * steps + t) * classes, classes, 1))
                    .collect()
            };
            let (want, got) = (decode(reference), decode(test));
            self.positions += steps as u64;
            self.positions_agree += want.iter().zip(&got).filter(|(a, b)| a == b).count() as u64;
            self.sequences += 1;
            self.sequences_agree +=
                u64::from(ctc_collapse(&want, self.blank) == ctc_collapse(&got, self.blank));
        }
    }

    fn sqnr_db(&self) -> f64 {
        if self.noise == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.signal / self.noise).log10()
        }
    }

    /// The measures so far.
    pub fn finish(&self) -> TaskReport {
        let share = |a: u64, b: u64| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        let m = |name, label, value, unit| Measure {
            name,
            label,
            value,
            unit,
        };
        let sqnr = m("sqnr_db", "SQNR", self.sqnr_db(), Unit::Decibel);
        let mut notes = Vec::new();
        let measures = match self.task {
            Task::Classify => {
                let mut v = vec![
                    m(
                        "top1_agreement",
                        "top-1 agreement",
                        share(self.rows_agree, self.rows),
                        Unit::Fraction,
                    ),
                    m(
                        "label_changes",
                        "labels changed",
                        (self.rows - self.rows_agree) as f64,
                        Unit::Count,
                    ),
                ];
                if self.labelled {
                    v.push(m(
                        "accuracy",
                        "accuracy",
                        share(self.correct, self.rows),
                        Unit::Fraction,
                    ));
                }
                v
            }
            Task::Dense if self.shape[1] == 1 => {
                if self.outside_unit && !self.threshold_given {
                    notes.push(format!(
                        "the map has values outside [0, 1], so it may not be a probability; the default threshold {} was applied (give --threshold)",
                        self.threshold
                    ));
                }
                vec![
                    m(
                        "iou",
                        "mask IoU",
                        // Two empty masks agree perfectly.
                        if self.union == 0 {
                            1.0
                        } else {
                            share(self.intersection, self.union)
                        },
                        Unit::Fraction,
                    ),
                    m(
                        "pixel_agreement",
                        "mask agreement",
                        share(self.positions_agree, self.positions),
                        Unit::Fraction,
                    ),
                    m("threshold", "mask threshold", self.threshold, Unit::Value),
                    sqnr,
                ]
            }
            Task::Dense => vec![
                m(
                    "pixel_agreement",
                    "pixel agreement",
                    share(self.positions_agree, self.positions),
                    Unit::Fraction,
                ),
                sqnr,
            ],
            Task::Sequence => vec![
                m(
                    "sequence_agreement",
                    "sequence match",
                    share(self.sequences_agree, self.sequences),
                    Unit::Fraction,
                ),
                m(
                    "step_agreement",
                    "step agreement",
                    share(self.positions_agree, self.positions),
                    Unit::Fraction,
                ),
                m("blank", "blank class", self.blank as f64, Unit::Count),
                sqnr,
            ],
            Task::Regress => vec![
                sqnr,
                m("max_abs_error", "max |error|", self.max_abs, Unit::Value),
                m(
                    "mean_abs_error",
                    "mean |error|",
                    if self.elements == 0 {
                        f64::NAN
                    } else {
                        self.abs_sum / self.elements as f64
                    },
                    Unit::Value,
                ),
            ],
        };
        TaskReport {
            task: self.task,
            chosen: self.chosen.clone(),
            samples: self.samples,
            measures,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(task: Option<Task>) -> TaskOptions {
        TaskOptions {
            task,
            ..TaskOptions::default()
        }
    }

    #[test]
    fn the_shape_picks_the_task_and_an_override_must_fit() {
        let pick = |s: &[usize]| choose(s, &opts(None)).unwrap().0;
        assert_eq!(pick(&[1, 10]), Task::Classify);
        assert_eq!(pick(&[1, 1]), Task::Regress);
        assert_eq!(pick(&[1, 40, 37]), Task::Sequence);
        assert_eq!(pick(&[1, 1, 64, 64]), Task::Dense);
        assert_eq!(pick(&[1, 2, 3, 4, 5]), Task::Regress);
        let (t, why) = choose(&[1, 40, 37], &opts(Some(Task::Regress))).unwrap();
        assert_eq!((t, why.as_str()), (Task::Regress, "--task regress"));
        let err = choose(&[1, 10], &opts(Some(Task::Dense))).unwrap_err();
        assert!(err.0.contains("N x C x H x W") && err.0.contains("[1, 10]"));
    }

    #[test]
    fn classify_by_hand() {
        // Two samples of 3 classes: the first agrees (class 1 both), the
        // second flips from class 0 to class 2; labels 1 and 2.
        let mut s = TaskStats::new(&[1, 3], &opts(None), true).unwrap();
        s.add(&[0.1, 0.8, 0.1], &[0.2, 0.7, 0.1], Some(1));
        s.add(&[0.6, 0.1, 0.3], &[0.3, 0.1, 0.6], Some(2));
        let r = s.finish();
        assert_eq!(r.task, Task::Classify);
        assert_eq!(r.get("top1_agreement"), Some(0.5));
        assert_eq!(r.get("label_changes"), Some(1.0));
        assert_eq!(r.get("accuracy"), Some(1.0));
    }

    #[test]
    fn dense_probability_map_iou_by_hand() {
        // A 1x1x2x3 map, threshold 0.3:
        //   reference 0.9 0.2 0.5 | 0.1 0.4 0.0 -> mask 1 0 1 0 1 0
        //   test      0.8 0.35 0.1| 0.0 0.6 0.2 -> mask 1 1 0 0 1 0
        // intersection 2 (pixels 0, 4), union 4 (0, 1, 2, 4): IoU 0.5;
        // masks agree on pixels 0, 3, 4, 5: 4 of 6.
        let mut s = TaskStats::new(&[1, 1, 2, 3], &opts(None), false).unwrap();
        let r = [0.9, 0.2, 0.5, 0.1, 0.4, 0.0];
        let t = [0.8, 0.35, 0.1, 0.0, 0.6, 0.2];
        s.add(&r, &t, None);
        let rep = s.finish();
        assert_eq!(rep.task, Task::Dense);
        assert_eq!(rep.get("iou"), Some(0.5));
        assert!((rep.get("pixel_agreement").unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // signal: .81+.04+.25+.01+.16+0 = 1.27; noise: .01+.0225+.16+.01+.04+.04 = 0.2825
        let want = 10.0 * (1.27f64 / 0.2825).log10();
        assert!((rep.get("sqnr_db").unwrap() - want).abs() < 1e-5, "{rep:?}");
        assert!(rep.notes.is_empty());
        // A threshold of 0.5 (strictly above): reference 1 0 0 0 0 0, test
        // 1 0 0 0 1 0: IoU 1/2.
        let mut s = TaskStats::new(
            &[1, 1, 2, 3],
            &TaskOptions {
                threshold: Some(0.5),
                ..opts(None)
            },
            false,
        )
        .unwrap();
        s.add(&r, &t, None);
        assert_eq!(s.finish().get("iou"), Some(0.5));
    }

    #[test]
    fn dense_multichannel_argmax_by_hand() {
        // 1x2x1x3 (two classes, three pixels), channel-major:
        //   reference c0: 1 0 5, c1: 0 1 4 -> classes 0 1 0
        //   test      c0: 1 2 3, c1: 0 1 4 -> classes 0 0 1
        // agreement: pixel 0 only: 1/3.
        let mut s = TaskStats::new(&[1, 2, 1, 3], &opts(None), false).unwrap();
        s.add(
            &[1.0, 0.0, 5.0, 0.0, 1.0, 4.0],
            &[1.0, 2.0, 3.0, 0.0, 1.0, 4.0],
            None,
        );
        let r = s.finish();
        assert!((r.get("pixel_agreement").unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.get("iou"), None, "IoU is for single-channel maps");
    }

    #[test]
    fn sequence_with_blanks_by_hand() {
        // 1 x 6 steps x 3 classes, blank 0.
        // reference steps: 1 1 0 2 2 0 -> "1 2"
        // test steps:      1 0 1 2 0 0 -> "1 1 2"   (the blank splits 1 1)
        // second sample, reference 0 2 2 0 1 1 -> "2 1"
        //                test      2 2 0 0 1 0 -> "2 1"
        // step agreement: first 1,0,0,1,0,1 = 3; second 0,1,0,1,1,0 = 3: 6/12.
        // sequences: first differs, second equal: 1/2.
        let onehot = |steps: &[usize]| -> Vec<f32> {
            steps
                .iter()
                .flat_map(|&c| (0..3).map(move |i| if i == c { 1.0 } else { 0.0 }))
                .collect()
        };
        let mut s = TaskStats::new(&[1, 6, 3], &opts(None), false).unwrap();
        s.add(
            &onehot(&[1, 1, 0, 2, 2, 0]),
            &onehot(&[1, 0, 1, 2, 0, 0]),
            None,
        );
        s.add(
            &onehot(&[0, 2, 2, 0, 1, 1]),
            &onehot(&[2, 2, 0, 0, 1, 0]),
            None,
        );
        let r = s.finish();
        assert_eq!(r.task, Task::Sequence);
        assert_eq!(r.get("step_agreement"), Some(0.5));
        assert_eq!(r.get("sequence_agreement"), Some(0.5));
        assert_eq!(ctc_collapse(&[1, 1, 0, 2, 2, 0], 0), vec![1, 2]);
        assert_eq!(ctc_collapse(&[1, 0, 1, 2, 0, 0], 0), vec![1, 1, 2]);
        // With blank 2 the first pair decodes "1 0 0" and "1 0 1 0": still
        // different; a blank beyond the classes is refused.
        let err = TaskStats::new(
            &[1, 6, 3],
            &TaskOptions {
                blank: 3,
                ..opts(None)
            },
            false,
        )
        .unwrap_err();
        assert!(err.0.contains("--blank 3"), "{err}");
    }

    #[test]
    fn regress_by_hand_and_labels_only_for_classify() {
        let mut s = TaskStats::new(&[1, 1], &opts(None), false).unwrap();
        s.add(&[3.0], &[3.5], None);
        s.add(&[4.0], &[3.0], None);
        let r = s.finish();
        assert_eq!(r.task, Task::Regress);
        // signal 25, noise 0.25 + 1 = 1.25: 10 log10(20) dB.
        assert!((r.get("sqnr_db").unwrap() - 10.0 * 20f64.log10()).abs() < 1e-12);
        assert_eq!(r.get("max_abs_error"), Some(1.0));
        assert_eq!(r.get("mean_abs_error"), Some(0.75));
        assert!(TaskStats::new(&[1, 1, 4, 4], &opts(None), true).is_err());
    }
}
