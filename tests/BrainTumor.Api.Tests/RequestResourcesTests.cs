using System.Net;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using Microsoft.Extensions.DependencyInjection;

namespace BrainTumor.Api.Tests;

[Collection(DefaultServerCollection.Name)]
public sealed class RequestResourcesTests(BrainTumorApiFactory factory)
{
    [Fact]
    public async Task EveryRequestGivesBackItsMemoryReservationAndQueueSlotWhetherAnsweredOrRefused()
    {
        using var client = factory.CreateClient();
        byte[] slice = Uploads.PublicJpeg();

        var statuses = new List<HttpStatusCode>
        {
            (await client.PostAsync("/predict", Uploads.Form(slice))).StatusCode,
            (await client.PostAsync("/predict?format=png", Uploads.Form(slice))).StatusCode,
            (await client.PostAsync("/gradcam", Uploads.Form(slice))).StatusCode,
            (await client.PostAsync("/gradcam?output=json", Uploads.Form(slice))).StatusCode,
            (await client.PostAsync("/predict", Uploads.Form("not an image"u8.ToArray()))).StatusCode,
            (await client.PostAsync("/gradcam", Uploads.Form(Uploads.BmpDeclaring(100_000)))).StatusCode,
        };

        Assert.Equal(4, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(2, statuses.Count(s => (int)s is >= 400 and < 500));
        Assert.Equal(0, factory.Services.GetRequiredService<UploadBudget>().ReservedBytes);
        Assert.Equal(0, factory.Services.GetRequiredService<AdmissionQueue>().Running);
    }
}
