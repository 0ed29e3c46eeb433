using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;
using Microsoft.Playwright;
using OrleansWs.Tests.Shared;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Silo.Demo;
using OrleansWs.Testing;

namespace OrleansWs.Tests;

/// <summary>The demo chat page, driven in Debian's Chromium: two browsers in one room, on two gateways.</summary>
public sealed class ChatPageTests : IAsyncLifetime
{
    private WebSocketTestApp _app = null!;
    private DebianChromium _chromium = null!;

    public async Task InitializeAsync()
    {
        var wwwroot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        _app = await WebSocketTestApp.StartAsync(o =>
        {
            o.Gateways = 2;
            o.ConfigureGatewayApp = app =>
            {
                app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = new PhysicalFileProvider(wwwroot) });
                app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(wwwroot) });
            };
            o.MapEndpoints = e => e.MapWebSocketHandler<ChatHandler>("/ws/chat", w => w.Resume = new());
        });
        _chromium = await DebianChromium.Launch();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_browsers_chat_through_the_demo_page()
    {
        var room = AppExtensions.NewTag();
        var ann = await Join(gateway: 0, room, "ann");
        var bob = await Join(gateway: 1, room, "bob");

        await ann.FillAsync("input[name=text]", "hello from ann");
        await ann.PressAsync("input[name=text]", "Enter");
        await Assertions.Expect(bob.Locator("#log")).ToContainTextAsync("ann: hello from ann");
        await Assertions.Expect(ann.Locator("#log")).ToContainTextAsync("ann: hello from ann");

        await bob.FillAsync("input[name=text]", "hi ann");
        await bob.ClickAsync("#say button");
        await Assertions.Expect(ann.Locator("#log")).ToContainTextAsync("bob: hi ann");
        await ann.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "chat-page.png") });
    }

    private async Task<IPage> Join(int gateway, string room, string nick)
    {
        var page = await _chromium.Browser.NewPageAsync();
        page.SetDefaultTimeout(10_000);
        await page.GotoAsync(_app.Gateways[gateway].HttpAddress.ToString());
        await page.FillAsync("input[name=room]", room);
        await page.FillAsync("input[name=nick]", nick);
        await page.ClickAsync("#join button");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("in " + room);
        return page;
    }
}
