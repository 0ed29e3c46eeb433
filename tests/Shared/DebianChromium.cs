using Microsoft.Playwright;

namespace OrleansWs.Tests.Shared;

/// <summary>Debian's Chromium under Playwright (never a downloaded browser), headless, as the page tests drive it.</summary>
internal sealed class DebianChromium : IAsyncDisposable
{
    private const string Executable = "/usr/bin/chromium";

    private DebianChromium(IPlaywright playwright, IBrowser browser) => (Playwright, Browser) = (playwright, browser);

    public IPlaywright Playwright { get; }

    public IBrowser Browser { get; }

    public static async Task<DebianChromium> Launch()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's chromium (test.sh does).");
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return new DebianChromium(playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        Playwright.Dispose();
    }
}
