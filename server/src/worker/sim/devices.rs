//! The simulated devices, named and behaving like `ophyd.sim`'s: motors with a velocity (so a move
//! takes time), gaussian detectors that read a motor, a 2-D gaussian, a noisy detector, and an
//! image detector whose frames are stored outside the event (as `ophyd.sim.img` does).
//!
//! Pure: readings are functions of the motor positions and a seeded random generator.

use std::collections::BTreeMap;

use hutch_app::model::docs::DataKey;
use serde_json::json;

/// Side length of `img` frames.
pub const IMG_SIZE: usize = 512;

/// A small, fast, seedable generator (xorshift64*), enough for simulated noise.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn symmetric(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Motor {
    pub name: &'static str,
    pub position: f64,
    /// Units per second; a move of distance d takes d / velocity seconds.
    pub velocity: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DetectorKind {
    /// `Imax * exp(-(x - center)² / (2 sigma²))` of one motor, plus optional uniform noise.
    Gauss {
        motor: &'static str,
        center: f64,
        imax: f64,
        sigma: f64,
        noise: f64,
    },
    /// The same in two dimensions, of two motors.
    Gauss2d {
        motors: [&'static str; 2],
        center: [f64; 2],
        imax: f64,
        sigma: f64,
    },
    /// A `IMG_SIZE`² frame (a gaussian spot that follows `motor1`/`motor2`, plus noise), stored
    /// as an external resource; the event holds a datum id.
    Image,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    pub name: &'static str,
    pub kind: DetectorKind,
}

/// All devices of the simulated environment.
#[derive(Clone, Debug)]
pub struct Devices {
    pub motors: Vec<Motor>,
    pub detectors: Vec<Detector>,
}

impl Default for Devices {
    fn default() -> Self {
        let motor = |name| Motor {
            name,
            position: 0.0,
            velocity: 10.0,
        };
        let gauss = |name, motor, center, imax, sigma, noise| Detector {
            name,
            kind: DetectorKind::Gauss {
                motor,
                center,
                imax,
                sigma,
                noise,
            },
        };
        Devices {
            motors: vec![
                motor("motor"),
                motor("motor1"),
                motor("motor2"),
                motor("motor3"),
            ],
            detectors: vec![
                gauss("det", "motor", 0.0, 1.0, 1.0, 0.0),
                gauss("det1", "motor1", 0.0, 5.0, 0.5, 0.0),
                gauss("det2", "motor2", 1.0, 2.0, 2.0, 0.0),
                gauss("det3", "motor3", -1.0, 2.0, 1.0, 0.0),
                Detector {
                    name: "det4",
                    kind: DetectorKind::Gauss2d {
                        motors: ["motor1", "motor2"],
                        center: [0.0, 0.0],
                        imax: 1.0,
                        sigma: 1.0,
                    },
                },
                gauss("noisy_det", "motor", 0.0, 1.0, 1.0, 0.1),
                Detector {
                    name: "img",
                    kind: DetectorKind::Image,
                },
            ],
        }
    }
}

fn gaussian(x: f64, center: f64, sigma: f64) -> f64 {
    (-(x - center).powi(2) / (2.0 * sigma * sigma)).exp()
}

impl Devices {
    pub fn motor(&self, name: &str) -> Option<&Motor> {
        self.motors.iter().find(|m| m.name == name)
    }

    pub fn motor_mut(&mut self, name: &str) -> Option<&mut Motor> {
        self.motors.iter_mut().find(|m| m.name == name)
    }

    pub fn detector(&self, name: &str) -> Option<&Detector> {
        self.detectors.iter().find(|d| d.name == name)
    }

    fn position(&self, motor: &str) -> f64 {
        self.motor(motor).map_or(0.0, |m| m.position)
    }

    /// The scalar value of a non-image detector right now.
    pub fn read_scalar(&self, det: &Detector, rng: &mut Rng) -> f64 {
        match det.kind {
            DetectorKind::Gauss {
                motor,
                center,
                imax,
                sigma,
                noise,
            } => {
                let v = imax * gaussian(self.position(motor), center, sigma);
                if noise > 0.0 {
                    v + noise * rng.symmetric()
                } else {
                    v
                }
            }
            DetectorKind::Gauss2d {
                motors,
                center,
                imax,
                sigma,
            } => {
                imax * gaussian(self.position(motors[0]), center[0], sigma)
                    * gaussian(self.position(motors[1]), center[1], sigma)
            }
            DetectorKind::Image => 0.0,
        }
    }

    /// One `img` frame, row-major, as 16-bit counts. The spot is separable, so a frame costs
    /// 2 × `IMG_SIZE` exponentials, not `IMG_SIZE`².
    pub fn read_image(&self, rng: &mut Rng) -> Vec<u16> {
        let n = IMG_SIZE;
        let (cx, cy) = (
            (0.5 + self.position("motor1") / 10.0) * n as f64,
            (0.5 + self.position("motor2") / 10.0) * n as f64,
        );
        let sigma = n as f64 / 12.0;
        let gx: Vec<f64> = (0..n)
            .map(|x| 1000.0 * gaussian(x as f64, cx, sigma))
            .collect();
        let mut out = Vec::with_capacity(n * n);
        for y in 0..n {
            let gy = gaussian(y as f64, cy, sigma);
            for g in &gx {
                let v = g * gy + 20.0 + 10.0 * rng.symmetric();
                out.push(v.clamp(0.0, 65535.0) as u16);
            }
        }
        out
    }

    /// `data_keys` entries (bluesky descriptor) for a device used in a plan.
    pub fn data_keys(&self, name: &str) -> BTreeMap<String, DataKey> {
        let mut keys = BTreeMap::new();
        let key = |dtype: &str, shape: Vec<Option<u64>>, source: String, units: &str| DataKey {
            dtype: dtype.into(),
            shape,
            source,
            units: Some(units.into()),
            external: None,
            rest: serde_json::Map::from_iter([
                (
                    "precision".into(),
                    json!(if dtype == "number" { 3 } else { 0 }),
                ),
                ("object_name".into(), json!(name)),
            ]),
        };
        let number =
            |field: &str, units: &str| key("number", vec![], format!("SIM:{field}"), units);
        if self.motor(name).is_some() {
            keys.insert(name.to_string(), number(name, "mm"));
            let setpoint = format!("{name}_setpoint");
            keys.insert(setpoint.clone(), number(&setpoint, "mm"));
        } else if let Some(det) = self.detector(name) {
            let entry = match det.kind {
                DetectorKind::Image => {
                    let side = Some(IMG_SIZE as u64);
                    let mut k = key("array", vec![side, side], "SIM:img".into(), "counts");
                    k.external = Some("FILESTORE".into());
                    k.rest.insert("dtype_numpy".into(), json!("<u2"));
                    k
                }
                _ => number(name, "counts"),
            };
            keys.insert(name.to_string(), entry);
        }
        keys
    }

    /// The fields a device contributes to `hints` (what plots show by default).
    pub fn hint_fields(&self, name: &str) -> Vec<String> {
        match self.detector(name) {
            Some(Detector {
                kind: DetectorKind::Image,
                ..
            }) => vec![],
            _ => vec![name.to_string()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_peak_where_ophyd_sim_says() {
        let mut d = Devices::default();
        let mut rng = Rng::new(1);
        let det1 = d.detector("det1").unwrap().clone();
        assert!(
            (d.read_scalar(&det1, &mut rng) - 5.0).abs() < 1e-12,
            "det1 peaks at motor1 = 0 with Imax 5"
        );
        d.motor_mut("motor1").unwrap().position = 0.5;
        let v = d.read_scalar(&det1, &mut rng);
        assert!((v - 5.0 * (-0.5f64).exp()).abs() < 1e-12, "{v}");
        let det2 = d.detector("det2").unwrap().clone();
        d.motor_mut("motor2").unwrap().position = 1.0;
        assert!(
            (d.read_scalar(&det2, &mut rng) - 2.0).abs() < 1e-12,
            "det2 is centred at 1"
        );
    }

    #[test]
    fn noisy_det_stays_within_its_noise_band() {
        let d = Devices::default();
        let mut rng = Rng::new(42);
        let noisy = d.detector("noisy_det").unwrap().clone();
        let values: Vec<f64> = (0..1000).map(|_| d.read_scalar(&noisy, &mut rng)).collect();
        assert!(values.iter().all(|v| (v - 1.0).abs() <= 0.1));
        assert!(
            values.iter().any(|v| (v - 1.0).abs() > 0.01),
            "it is actually noisy"
        );
    }

    #[test]
    fn images_have_the_documented_size_and_a_spot() {
        let d = Devices::default();
        let img = d.read_image(&mut Rng::new(3));
        assert_eq!(img.len(), IMG_SIZE * IMG_SIZE);
        let centre = img[IMG_SIZE / 2 * IMG_SIZE + IMG_SIZE / 2];
        assert!(
            centre > 900 && img[0] < 100,
            "spot in the middle: {centre}, corner {}",
            img[0]
        );
    }

    #[test]
    fn motors_describe_readback_and_setpoint() {
        let keys = Devices::default().data_keys("motor");
        assert_eq!(keys["motor"].rest["object_name"], "motor");
        assert_eq!(keys["motor_setpoint"].source, "SIM:motor_setpoint");
        assert_eq!(keys["motor"].units.as_deref(), Some("mm"));
    }
}
