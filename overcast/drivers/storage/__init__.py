"""Storage backends: where a host keeps the volumes its instances attach. Like compute
drivers, they know nothing above them; the agent calls them."""
