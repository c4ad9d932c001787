# Build: docker build -t braintumor .    Run: docker run -p 8080:8080 braintumor
# The publish step is the one the test PublishedServerTests runs in CI (no Docker engine there).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json BrainTumor.sln Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/ src/
RUN dotnet publish src/BrainTumor.Api -c Release -r linux-x64 --self-contained false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# curl only serves the HEALTHCHECK.
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
COPY models/ models/
USER app
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD curl -fsS http://localhost:8080/health/ready || exit 1
# At most two glibc malloc arenas: otherwise each thread that calls into Skia or ONNX Runtime keeps one, and with every package
# loaded the server's peak grew past 1 GB (docs/operations.md#memory). Also set by Properties/launchSettings.json for dotnet run.
ENV MALLOC_ARENA_MAX=2
# Inside the container the server listens on all interfaces; outside, publish the port deliberately.
ENTRYPOINT ["dotnet", "BrainTumor.Api.dll", "--urls", "http://0.0.0.0:8080"]
