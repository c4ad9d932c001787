using Microsoft.Playwright;

namespace BrainTumor.Viewer.Tests;

/// <summary>
/// Debian's Chromium (<c>apt-get install chromium</c>), headless, driven by Playwright; <c>BRAINTUMOR_CHROMIUM</c> names
/// another binary. Playwright's own browser download is never used.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    public static string ExecutablePath { get; } = Environment.GetEnvironmentVariable("BRAINTUMOR_CHROMIUM") is { Length: > 0 } configured
        ? configured
        : "/usr/bin/chromium";

    private IPlaywright? playwright;
    private IBrowser? browser;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new FileNotFoundException(
                $"No Chromium at {ExecutablePath}: install Debian's chromium package or set BRAINTUMOR_CHROMIUM.");
        }
        playwright = await Playwright.CreateAsync();
        // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
        browser = await playwright.Chromium.LaunchAsync(
            new() { ExecutablePath = ExecutablePath, Headless = true, Args = ["--no-sandbox"] });
    }

    /// <summary>A fresh page (its own cookies and storage) with every wait bounded.</summary>
    public async Task<IPage> NewPageAsync(Uri baseAddress)
    {
        var context = await browser!.NewContextAsync(
            new() { BaseURL = baseAddress.ToString(), ViewportSize = new() { Width = 1280, Height = 1000 } });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (browser is not null)
        {
            await browser.DisposeAsync();
        }
        playwright?.Dispose();
    }
}
