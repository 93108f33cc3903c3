"""Open data: privacy rule, dumps, DCAT-AP.de catalogue, SensorThings and NGSI-LD mappings."""
