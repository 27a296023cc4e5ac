//! Feedback and petitions (phản ánh, kiến nghị) for the routing classifier (issue #5):
//! a deterministic corpus of realistic messages, each labelled with the agency kind and
//! sector that handles it. Messages combine a problem specific to the sector with openings,
//! places, times and requests shared by all sectors (so the words that decide are the
//! problem's), and a share is typed without diacritics, as many people do.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sen_domain::routing::Example;

/// The sectors petitions are routed to: label, problems.
pub const SECTORS: [(&str, &[&str]); 9] = [
    (
        "province_construction/Giao thông, xây dựng",
        &[
            "mặt đường xuất hiện nhiều ổ gà, ổ voi rất nguy hiểm",
            "đèn tín hiệu giao thông ở ngã tư bị hỏng nhiều ngày",
            "cầu dân sinh xuống cấp, lan can bị gãy",
            "biển báo hạn chế tốc độ bị che khuất bởi cây",
            "xe tải quá khổ quá tải chạy vào đường cấm làm lún nền đường",
            "công trình thi công đường ống để lại hố sâu không rào chắn",
            "đèn chiếu sáng công cộng không sáng, đường tối",
            "vạch sơn đường đã mờ, không có vạch qua đường cho người đi bộ",
            "nhà cao tầng xây sai giấy phép xây dựng, vượt số tầng",
            "nắp cống trên vỉa hè bị vỡ, người đi bộ dễ sụt chân",
            "điểm dừng xe buýt không có mái che, xe buýt bỏ bến",
            "đường gom cao tốc ngập sâu sau mỗi trận mưa",
        ],
    ),
    (
        "province_agri_env/Môi trường",
        &[
            "cơ sở sản xuất xả nước thải chưa xử lý ra kênh, bốc mùi hôi thối",
            "rác thải sinh hoạt tồn đọng nhiều ngày không được thu gom",
            "khói bụi từ xưởng gỗ gây ô nhiễm không khí",
            "bãi rác tự phát ven sông gây ô nhiễm",
            "chặt hạ cây xanh trên phố không có phép",
            "lò đốt rác thải công nghiệp gây khói đen",
            "cá chết hàng loạt trên hồ do nước ô nhiễm",
            "khai thác cát trái phép làm sạt lở bờ sông",
            "trại chăn nuôi lợn xả chất thải gây mùi hôi",
            "đốt rơm rạ gây khói mù cả khu dân cư",
            "tiếng ồn từ nhà máy bê tông vượt quy chuẩn môi trường",
            "đổ trộm phế thải xây dựng ra bãi đất trống",
        ],
    ),
    (
        "commune_police/An ninh, trật tự",
        &[
            "nhóm thanh niên tụ tập đua xe, lạng lách vào ban đêm",
            "quán karaoke hát to sau 12 giờ đêm làm mất trật tự",
            "xảy ra nhiều vụ trộm cắp xe máy trong khu dân cư",
            "có tụ điểm đánh bạc, cá độ bóng đá",
            "đối tượng lạ cho vay nặng lãi, đòi nợ kiểu xã hội đen",
            "có người nghi buôn bán ma túy tại quán nước",
            "nhà trọ cho người lạ ở mà không khai báo tạm trú",
            "cướp giật điện thoại của người đi đường",
            "đánh nhau gây thương tích trước cổng chợ",
            "đốt pháo nổ trong dịp lễ Tết",
            "lừa đảo qua điện thoại giả danh công an",
            "hàng xóm thường xuyên say rượu chửi bới gây rối",
        ],
    ),
    (
        "province_health/Y tế",
        &[
            "nhân viên y tế có thái độ thiếu tôn trọng người bệnh",
            "bệnh viện quá tải, bệnh nhân nằm ghép ba người một giường",
            "nhà thuốc bán thuốc kê đơn không cần đơn, nghi thuốc giả",
            "bếp ăn tập thể gây ngộ độc thực phẩm cho công nhân",
            "cơ sở thẩm mỹ không phép tiêm filler gây biến chứng",
            "phòng khám tư quảng cáo sai sự thật, thu tiền cao",
            "trạm y tế thiếu vắc xin tiêm chủng cho trẻ",
            "quán ăn đường phố mất vệ sinh an toàn thực phẩm",
            "sốt xuất huyết bùng phát mà chưa phun thuốc diệt muỗi",
            "bệnh viện thu thêm tiền ngoài chi phí khám chữa bệnh",
            "xe cấp cứu đến chậm hơn một giờ",
            "phòng khám đông y bán thuốc không rõ nguồn gốc",
        ],
    ),
    (
        "province_education/Giáo dục",
        &[
            "nhà trường lạm thu nhiều khoản đầu năm học",
            "giáo viên ép học sinh học thêm tại nhà",
            "phòng học xuống cấp, trần nhà bong tróc nguy hiểm",
            "trường mầm non tư thục không phép, trẻ bị bạo hành",
            "học sinh bị bắt nạt, bạo lực học đường không được xử lý",
            "tuyển sinh lớp 1 trái tuyến, thiếu minh bạch",
            "sách giáo khoa thay đổi liên tục gây tốn kém cho phụ huynh",
            "bếp ăn bán trú của trường không đảm bảo khẩu phần",
            "điểm thi bị chấm sai, phúc khảo chậm",
            "trung tâm ngoại ngữ cấp chứng chỉ không đúng quy định",
            "trường thiếu giáo viên, học sinh nghỉ học nhiều tiết",
            "xe đưa đón học sinh chở quá số người",
        ],
    ),
    (
        "province_social_security/Bảo hiểm xã hội",
        &[
            "chậm chi trả lương hưu hai tháng nay",
            "thẻ bảo hiểm y tế in sai ngày sinh, sai tên",
            "doanh nghiệp trừ tiền bảo hiểm xã hội của người lao động nhưng không đóng",
            "hồ sơ hưởng chế độ thai sản quá hạn chưa được giải quyết",
            "không được thanh toán bảo hiểm y tế khi khám trái tuyến",
            "sổ bảo hiểm xã hội bị thiếu quá trình đóng",
            "trợ cấp bảo hiểm xã hội một lần bị chậm",
            "người cao tuổi chưa được cấp thẻ bảo hiểm y tế miễn phí",
            "tiền trợ cấp ốm đau chưa được chi trả",
            "ứng dụng VssID không hiển thị quá trình tham gia bảo hiểm",
            "công ty nợ đóng bảo hiểm xã hội nên không chốt được sổ",
            "trợ cấp mai táng chưa được nhận sau ba tháng",
        ],
    ),
    (
        "commune_pc/Đất đai, trật tự đô thị",
        &[
            "hộ dân lấn chiếm vỉa hè để kinh doanh, người đi bộ phải xuống lòng đường",
            "tranh chấp ranh giới đất với hộ liền kề chưa được hòa giải",
            "xây dựng công trình trên đất nông nghiệp không phép",
            "lấn chiếm đất công làm nhà tạm",
            "chợ tạm họp lấn ra đường gây ùn tắc",
            "hồ sơ cấp giấy chứng nhận quyền sử dụng đất quá hạn",
            "biển quảng cáo dựng trái phép che khuất tầm nhìn",
            "cơi nới ban công lấn ra không gian công cộng",
            "đào đường lắp cống không hoàn trả mặt bằng",
            "bán đất phân lô trái phép trên đất rừng",
            "trông giữ xe trái phép chiếm dụng lòng đường",
            "nhà hàng xóm xây tường lấn sang đất nhà tôi",
        ],
    ),
    (
        "province_home_affairs/Lao động, việc làm",
        &[
            "công ty nợ lương công nhân ba tháng",
            "doanh nghiệp không ký hợp đồng lao động với người lao động",
            "công nhân bị buộc làm thêm giờ quá quy định",
            "xảy ra tai nạn lao động do thiếu thiết bị bảo hộ",
            "công ty cho thôi việc không báo trước, không trả trợ cấp",
            "trung tâm môi giới việc làm lừa đảo thu tiền",
            "sử dụng lao động trẻ em tại xưởng may",
            "người lao động nữ mang thai bị sa thải",
            "doanh nghiệp đưa người đi xuất khẩu lao động thu phí quá cao",
            "chủ xưởng giữ giấy tờ tùy thân của công nhân",
            "trợ cấp thất nghiệp chưa được giải quyết",
            "công ty không trả lương làm thêm giờ ngày lễ",
        ],
    ),
    (
        "province_tax/Thuế",
        &[
            "cửa hàng không xuất hóa đơn khi bán hàng",
            "hồ sơ hoàn thuế thu nhập cá nhân quá hạn chưa được giải quyết",
            "hộ kinh doanh bị áp mức thuế khoán quá cao",
            "mã số thuế cá nhân bị trùng, sai thông tin",
            "doanh nghiệp mua bán hóa đơn khống",
            "thông báo nộp thuế đất gửi sai địa chỉ",
            "người bán hàng online không kê khai nộp thuế",
            "cổng thuế điện tử lỗi không nộp được tờ khai",
            "bị phạt chậm nộp tờ khai dù đã nộp đúng hạn",
            "quyết toán thuế thu nhập cá nhân bị tính sai giảm trừ gia cảnh",
            "hóa đơn điện tử bị từ chối cấp mã",
            "chủ nhà cho thuê không khai thuế cho thuê nhà",
        ],
    ),
];

const OPENINGS: [&str; 8] = [
    "Tôi xin phản ánh:",
    "Kính gửi cơ quan chức năng,",
    "Đề nghị các cấp xem xét,",
    "Người dân tổ dân phố chúng tôi bức xúc vì",
    "Tôi là cư dân, xin kiến nghị việc",
    "Phản ánh:",
    "Xin hỏi vì sao",
    "",
];
const PLACES: [&str; 10] = [
    "tại phường Hoàn Kiếm",
    "ở xã Đông Anh",
    "trên đường Nguyễn Trãi",
    "khu tập thể Thành Công",
    "gần chợ Long Biên",
    "tại thôn 3",
    "ở khu đô thị mới",
    "đầu ngõ 25",
    "tại tổ dân phố số 7",
    "",
];
const TIMES: [&str; 6] = ["đã kéo dài nhiều tháng", "từ tuần trước", "nhiều lần", "gần đây", "", ""];
const REQUESTS: [&str; 7] = [
    "Đề nghị xử lý sớm.",
    "Mong cơ quan chức năng vào cuộc.",
    "Xin cảm ơn.",
    "Đề nghị kiểm tra và trả lời.",
    "Rất mong được giải quyết dứt điểm.",
    "Người dân rất bức xúc.",
    "",
];

/// `per_sector` labelled petitions per sector, the same for the same seed.
pub fn corpus(seed: u64, per_sector: usize) -> Vec<Example> {
    corpus_of(seed, per_sector, |_| true)
}

/// A harder split: the last `held` problems of every sector are only in the test set, so the
/// classifier is judged on problems it never saw, worded differently.
pub fn split_by_problem(seed: u64, per_sector: usize, held: usize) -> (Vec<Example>, Vec<Example>) {
    let n = SECTORS[0].1.len();
    (corpus_of(seed, per_sector, |i| i < n - held), corpus_of(seed ^ 0x5e, per_sector / 3 + 1, |i| i >= n - held))
}

fn corpus_of(seed: u64, per_sector: usize, keep: impl Fn(usize) -> bool) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(per_sector * SECTORS.len());
    for i in 0..per_sector {
        for (label, problems) in SECTORS {
            let allowed: Vec<&str> = problems.iter().enumerate().filter(|(j, _)| keep(*j)).map(|(_, p)| *p).collect();
            // Cycle through the problems so every one is seen, in a different order per sector.
            let problem = allowed[(i + rng.gen_range(0..allowed.len())) % allowed.len()];
            let parts = [
                *OPENINGS.choose(&mut rng).expect("openings"),
                problem,
                *PLACES.choose(&mut rng).expect("places"),
                *TIMES.choose(&mut rng).expect("times"),
                *REQUESTS.choose(&mut rng).expect("requests"),
            ];
            let mut text = parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
            if rng.gen_bool(0.3) {
                text = sen_domain::text::fold(&text);
            }
            out.push(Example { text, label: label.to_string() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_and_covers_every_sector() {
        let a = corpus(1, 20);
        assert_eq!(a, corpus(1, 20));
        assert_eq!(a.len(), 20 * SECTORS.len());
        for (label, _) in SECTORS {
            assert_eq!(a.iter().filter(|e| e.label == label).count(), 20);
        }
    }
}
