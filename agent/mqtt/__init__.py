"""The MQTT side: the broker link, the hub-command router and handlers, the CLI's brief client."""
