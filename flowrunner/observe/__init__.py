"""What `serve` tells the world about itself: metrics, health, per-call traces, recordings."""
