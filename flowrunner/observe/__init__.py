"""What `serve` tells the world about itself: Prometheus metrics, health and readiness."""
