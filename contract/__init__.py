"""The MQTT contract: topic tree and versioned payload models (the product's public face)."""
