use std::collections::HashMap;
use std::fmt::{self, Display};

/// Something with an area.
pub trait Shape: Display {
    fn area(&self) -> f64;

    fn describe(&self) -> String {
        format!("{} with area {:.2}", self, self.area())
    }
}

#[derive(Debug, Clone)]
pub struct Circle {
    pub radius: f64,
}

pub enum Unit {
    Metric,
    Imperial,
}

impl Circle {
    pub fn new(radius: f64) -> Self {
        Circle { radius }
    }
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.radius * self.radius
    }
}

impl Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "circle r={}", self.radius)
    }
}

pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
    shapes.iter().map(|shape| shape.area()).sum()
}

pub fn count_by_name(names: &[&str]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for name in names {
        *counts.entry(name.to_string()).or_insert(0) += 1;
    }
    counts
}
