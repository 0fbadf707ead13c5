"""The intake stage: listing a class's submissions, opening folders and zips safely, locating the
output files inside one, and reading their values. Hostile input ends here, as a SubmissionError."""
