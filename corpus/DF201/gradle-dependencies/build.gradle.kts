plugins { id("application") }
repositories { mavenCentral() }
