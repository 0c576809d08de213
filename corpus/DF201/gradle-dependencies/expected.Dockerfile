FROM gradle:8.10-jdk21
WORKDIR /home/gradle/app
COPY --chown=gradle:gradle build.gradle.kts settings.gradle.kts gradle.properties ./
RUN gradle dependencies --no-daemon
COPY --chown=gradle:gradle . .
RUN gradle installDist --no-daemon
