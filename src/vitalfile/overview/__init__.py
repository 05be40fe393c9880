"""Read-only views across the file for people to look at: a person's timeline (reports, links,
deaths, retractions, disclosures) and the figures of the dashboards. They read every layer
below and write nothing."""
