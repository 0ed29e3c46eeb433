using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>The mapping is an ordinary endpoint: authorization and rate limiting apply, and the user reaches the handler.</summary>
public sealed class EndpointConventionTests(EndpointConventionTests.Fixture fixture) : IClassFixture<EndpointConventionTests.Fixture>
{
    public sealed class Fixture : AppFixture
    {
        protected override void Configure(Testing.WebSocketTestAppOptions options)
        {
            options.Gateways = 1;
            options.ConfigureGatewayBuilder = b =>
            {
                b.Services.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("header", null);
                b.Services.AddAuthorization();
                b.Services.AddRateLimiter(r =>
                {
                    r.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                    r.AddFixedWindowLimiter("one", w => (w.PermitLimit, w.Window, w.QueueLimit) = (1, TimeSpan.FromHours(1), 0));
                });
            };
            options.ConfigureGatewayApp = app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
                app.UseRateLimiter();
            };
            options.MapEndpoints = e =>
            {
                e.MapWebSocketHandler<RecordingHandler>("/ws/secure").RequireAuthorization();
                e.MapWebSocketHandler<RecordingHandler>("/ws/limited").RequireRateLimiting("one");
            };
        }
    }

    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-User"] is not [{ Length: > 0 } user])
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim("role", "tester")], "header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "header")));
        }
    }

    [Fact]
    public async Task An_anonymous_upgrade_is_refused_with_401()
    {
        using var response = await fixture.App.Probe("/ws/secure");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_authenticated_user_reaches_the_upgrade_hook_and_the_peer()
    {
        var tag = AppExtensions.NewTag();
        await using var client = await fixture.App.Connect($"/ws/secure?tag={tag}", configure: o => o.SetRequestHeader("X-User", "alice"));
        var seen = (UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!;
        Assert.Equal("alice", seen.Request.User!.Name);
        Assert.Equal("header", seen.Request.User.AuthenticationType);
        Assert.Equal("tester", seen.Request.User.FindFirst("role"));

        await client.ReceiveText();
        await client.SendText("info");
        Assert.Equal("alice", (await client.ReceiveJson<PeerInfo>()).User);
    }

    [Fact]
    public async Task A_rate_limiting_policy_applies_to_upgrades()
    {
        await using var first = await fixture.App.Connect("/ws/limited");
        await first.ReceiveText();
        using var second = await fixture.App.Probe("/ws/limited");
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
    }
}
