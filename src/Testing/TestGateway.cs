using Microsoft.AspNetCore.Builder;

namespace OrleansWs.Testing;

/// <summary>One in-process gateway of a <see cref="WebSocketTestApp"/>: a real Kestrel server on 127.0.0.1.</summary>
public sealed class TestGateway
{
    internal TestGateway(int index, WebApplication app, Uri httpAddress)
    {
        Index = index;
        App = app;
        HttpAddress = httpAddress;
        WebSocketAddress = new UriBuilder(httpAddress) { Scheme = "ws" }.Uri;
    }

    /// <summary>Its position in <see cref="WebSocketTestApp.Gateways"/>.</summary>
    public int Index { get; }

    /// <summary>The ASP.NET Core application.</summary>
    public WebApplication App { get; }

    /// <summary>e.g. http://127.0.0.1:41234/</summary>
    public Uri HttpAddress { get; }

    /// <summary>e.g. ws://127.0.0.1:41234/</summary>
    public Uri WebSocketAddress { get; }

    /// <summary>Whether it has been stopped.</summary>
    public bool Stopped { get; internal set; }
}
