"""Pages of the civil-society side (the CSO directory arrives with the CSO issue)."""

app_name = "csos"

urlpatterns: list = []
