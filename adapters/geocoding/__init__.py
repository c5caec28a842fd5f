"""Geocoders behind the `Geocoder` port: Nominatim (OpenStreetMap) and Google's
Geocoding API, over httpx."""
