using System.Net.NetworkInformation;
using Microsoft.Playwright;
using OrleansWs.Tests.Shared;
using Xunit.Abstractions;

namespace OrleansWs.SystemTests;

/// <summary>
/// The demo chat page in Debian's Chromium, through nginx over two gateways: a page whose gateway is killed resumes
/// through the load balancer and shows everything the other page said, once and in order.
/// </summary>
[Collection(nameof(LocalCluster))]
public sealed class DemoPageTests(LocalCluster cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Messages = 40;
    private DebianChromium _chromium = null!;

    public async Task InitializeAsync()
    {
        _chromium = await DebianChromium.Launch();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_page_whose_gateway_is_killed_resumes_through_nginx_and_shows_every_message_once_in_order()
    {
        var room = "page-" + Guid.NewGuid().ToString("N")[..8];
        var (ann, annGateway) = await Join(room, "ann", avoid: null);
        var (bob, bobGateway) = await Join(room, "bob", avoid: annGateway);
        output.WriteLine($"ann on gateway{annGateway}, bob on gateway{bobGateway}");

        var killed = false;
        try
        {
            for (var i = 1; i <= Messages; i++)
            {
                await bob.Page.FillAsync("input[name=text]", i.ToString());
                await bob.Page.PressAsync("input[name=text]", "Enter");
                if (i == 10)
                {
                    await cluster.Script(LocalCluster.Timeout, "kill", $"gateway{annGateway}");
                    killed = true;
                }

                await Task.Delay(50);
            }

            // The page says it was reconnected without a gap, and shows bob's 40 lines once, in order.
            var log = ann.Page.Locator("#log");
            await Assertions.Expect(log).ToContainTextAsync($"bob: {Messages}", new() { Timeout = 30_000 });
            await Assertions.Expect(log).ToContainTextAsync("reconnected: nothing was missed");
            var lines = await ann.Page.Locator("#log p:not(.sys)").AllTextContentsAsync();
            Assert.Equal(Enumerable.Range(1, Messages).Select(i => $"bob: {i}"), lines);

            // And it still talks: ann's next line reaches bob.
            await ann.Page.FillAsync("input[name=text]", "back");
            await ann.Page.PressAsync("input[name=text]", "Enter");
            await Assertions.Expect(bob.Page.Locator("#log")).ToContainTextAsync("ann: back");
        }
        finally
        {
            await ann.Context.CloseAsync();
            await bob.Context.CloseAsync();
            if (killed)
            {
                await cluster.Script(TimeSpan.FromMinutes(1), "start", $"gateway{annGateway}");
            }
        }
    }

    private sealed record Joined(IBrowserContext Context, IPage Page);

    // Opens the page through nginx and joins the room; the gateway its socket landed on is the one whose established
    // connections grew. Pages that land on the gateway to avoid are closed and opened again (nginx alternates).
    private async Task<(Joined Page, int Gateway)> Join(string room, string nick, int? avoid)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var before = Established();
            var context = await _chromium.Browser.NewContextAsync();
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(15_000);
            await page.GotoAsync(cluster.LoadBalancerHttp.ToString());
            await page.FillAsync("input[name=room]", room);
            await page.FillAsync("input[name=nick]", nick);
            await page.ClickAsync("#join button");
            await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("in " + room);
            var gateway = await GatewayOfNewSocket(before);
            if (gateway != avoid)
            {
                return (new Joined(context, page), gateway);
            }

            await context.CloseAsync();
        }

        throw new InvalidOperationException("nginx sent every page to the same gateway.");
    }

    private async Task<int> GatewayOfNewSocket(int[] before)
    {
        for (var poll = 0; poll < 100; poll++)
        {
            var now = Established();
            var grown = Enumerable.Range(1, 2).Where(g => now[g] > before[g]).ToList();
            if (grown.Count == 1)
            {
                return grown[0];
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("The page's socket was not found on either gateway.");
    }

    // Established connections into gateway 1 and 2 (index 0 unused): a page's socket is the one that stays.
    private int[] Established()
    {
        var connections = IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpConnections();
        return Enumerable.Range(0, 3)
            .Select(g => g == 0 ? 0 : connections.Count(c => c.State == TcpState.Established && c.LocalEndPoint.Port == cluster.GatewayHttp(g).Port))
            .ToArray();
    }
}
