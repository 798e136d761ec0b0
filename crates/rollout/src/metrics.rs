//! RecSim's video-cluster metrics (model §4: `aggregate_video_cluster_metrics` and
//! `write_video_cluster_metrics`), kept for interest evolution and exploration.

use env::{Scenario, Transition};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Click counts accumulated step by step, across episodes, until dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoMetrics {
    impressions: u64,
    clicks: u64,
    quality: f64,
    cluster_clicks: Vec<u64>,
    no_clicks: u64,
}

impl VideoMetrics {
    /// Empty metrics reporting every one of `num_clusters` clusters.
    pub fn new(num_clusters: usize) -> Self {
        Self {
            impressions: 0,
            clicks: 0,
            quality: 0.0,
            cluster_clicks: vec![0; num_clusters],
            no_clicks: 0,
        }
    }

    /// One step: the clicked document's quality and cluster, or `None` for no click.
    pub fn record(&mut self, click: Option<(f64, usize)>) {
        self.impressions += 1;
        match click {
            Some((quality, cluster)) => {
                self.clicks += 1;
                self.quality += quality;
                // A cluster beyond those announced is still counted, not dropped.
                if cluster >= self.cluster_clicks.len() {
                    self.cluster_clicks.resize(cluster + 1, 0);
                }
                self.cluster_clicks[cluster] += 1;
            }
            None => self.no_clicks += 1,
        }
    }

    /// Empty metrics for a scenario's world; `None` where RecSim has none (long-term
    /// satisfaction) or the world is not registered.
    pub fn for_scenario(scenario: &Scenario) -> Option<Self> {
        scenario.world().ok()?.num_clusters().map(Self::new)
    }

    /// One step of an environment, from its transition.
    pub fn record_transition(&mut self, t: &Transition) {
        self.record(t.click.and_then(|c| c.quality.zip(c.cluster)));
    }

    /// The figures RecSim writes.
    pub fn report(&self) -> VideoReport {
        // Before any step every fraction is 0 rather than undefined.
        let per_impression = |n: u64| n as f64 / self.impressions.max(1) as f64;
        VideoReport {
            impressions: self.impressions,
            clicks: self.clicks,
            ctr: per_impression(self.clicks),
            average_quality: (self.clicks > 0).then(|| self.quality / self.clicks as f64),
            cluster_watch_fractions: self
                .cluster_clicks
                .iter()
                .map(|&n| per_impression(n))
                .collect(),
            no_click_fraction: per_impression(self.no_clicks),
        }
    }
}

/// The video-cluster metrics; serialised under RecSim's summary names (`CTR`,
/// `AverageQuality`, `cluster_watch_count_frac/cluster_<k>`,
/// `cluster_watch_count_frac/no_click`).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoReport {
    /// Steps counted.
    pub impressions: u64,
    /// Steps with a click.
    pub clicks: u64,
    /// Clicks per impression.
    pub ctr: f64,
    /// Mean quality of the clicked documents; `None` before the first click.
    pub average_quality: Option<f64>,
    /// Clicks in each cluster per impression.
    pub cluster_watch_fractions: Vec<f64>,
    /// Steps without a click per impression.
    pub no_click_fraction: f64,
}

impl Serialize for VideoReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("impression", &self.impressions)?;
        map.serialize_entry("click", &self.clicks)?;
        map.serialize_entry("CTR", &self.ctr)?;
        if let Some(quality) = self.average_quality {
            map.serialize_entry("AverageQuality", &quality)?;
        }
        for (k, fraction) in self.cluster_watch_fractions.iter().enumerate() {
            map.serialize_entry(&format!("cluster_watch_count_frac/cluster_{k}"), fraction)?;
        }
        map.serialize_entry("cluster_watch_count_frac/no_click", &self.no_click_fraction)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_as_recsim_aggregates() {
        let mut m = VideoMetrics::new(3);
        for click in [Some((2.0, 1)), None, Some((-1.0, 1)), Some((0.5, 0)), None] {
            m.record(click);
        }
        let r = m.report();
        assert_eq!((r.impressions, r.clicks), (5, 3));
        assert_eq!(r.ctr, 0.6);
        assert_eq!(r.average_quality, Some(0.5));
        assert_eq!(r.cluster_watch_fractions, [0.2, 0.4, 0.0]);
        assert_eq!(r.no_click_fraction, 0.4);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["CTR"], 0.6);
        assert_eq!(json["AverageQuality"], 0.5);
        assert_eq!(json["cluster_watch_count_frac/cluster_1"], 0.4);
        assert_eq!(json["cluster_watch_count_frac/no_click"], 0.4);
    }

    #[test]
    fn no_clicks_no_average_quality() {
        let mut m = VideoMetrics::new(2);
        assert_eq!(m.report().ctr, 0.0);
        m.record_transition(&Transition::default());
        let r = m.report();
        assert_eq!(
            (r.ctr, r.average_quality, r.no_click_fraction),
            (0.0, None, 1.0)
        );
        assert!(serde_json::to_value(&r)
            .unwrap()
            .get("AverageQuality")
            .is_none());
        m.record(Some((1.0, 4)));
        assert_eq!(m.report().cluster_watch_fractions.len(), 5);
    }
}
