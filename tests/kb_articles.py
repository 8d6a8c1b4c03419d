# ruff: noqa: E501
"""A knowledge base of 56 articles (Russian and English) and the queries whose best answer is
known: the search-quality fixture (tests/unit/test_kb_search.py) and the bench's seed."""

from __future__ import annotations

from helpdesk.search import Source

RU = [
    (
        "vhod-v-sistemu",
        "Вход в систему",
        "Как выполнить вход в личный кабинет: откройте приложение, введите номер телефона и код из СМС. Если вход не выполняется, проверьте интернет.",
        ["вход", "кабинет"],
    ),
    (
        "vosstanovlenie-parolya",
        "Восстановление пароля",
        "Если вы забыли пароль, нажмите «Забыли пароль?» на экране входа и следуйте инструкции в письме.",
        ["пароль"],
    ),
    (
        "oplata-kartoy",
        "Оплата банковской картой",
        "Мы принимаем карты Visa, Mastercard и МИР. Оплата проходит через защищённый шлюз банка.",
        ["оплата", "карта"],
    ),
    (
        "vozvrat-sredstv",
        "Возврат средств",
        "Возврат денег на карту занимает до 10 рабочих дней. Оформить возврат можно в разделе «Заказы».",
        ["возврат", "деньги"],
    ),
    (
        "dostavka-sroki",
        "Сроки доставки",
        "Доставка по Москве занимает 1-2 дня, по России до 7 дней. Курьер позвонит заранее.",
        ["доставка"],
    ),
    (
        "otmena-zakaza",
        "Отмена заказа",
        "Отменить заказ можно до передачи его курьеру. После отмены деньги вернутся автоматически.",
        ["заказ", "отмена"],
    ),
    (
        "smena-nomera",
        "Смена номера телефона",
        "Чтобы сменить номер телефона, откройте профиль и нажмите «Изменить номер». Мы отправим код подтверждения на новый номер.",
        ["профиль", "телефон"],
    ),
    (
        "udalenie-akkaunta",
        "Удаление аккаунта",
        "Удалить аккаунт можно в настройках профиля. Данные удаляются безвозвратно через 30 дней.",
        ["аккаунт"],
    ),
    (
        "uvedomleniya",
        "Уведомления не приходят",
        "Если уведомления не приходят, разрешите их в настройках телефона и проверьте режим «Не беспокоить».",
        ["уведомления"],
    ),
    (
        "dvuhfaktornaya",
        "Двухфакторная аутентификация",
        "Включите второй фактор в настройках безопасности: код будет приходить в приложение-аутентификатор.",
        ["безопасность"],
    ),
    (
        "prilozhenie-vyletaet",
        "Приложение вылетает",
        "Если приложение закрывается само, обновите его до последней версии и перезагрузите телефон.",
        ["ошибка", "приложение"],
    ),
    (
        "podpiska",
        "Управление подпиской",
        "Подписку можно продлить, приостановить или отключить в разделе «Подписка». Списание происходит ежемесячно.",
        ["подписка"],
    ),
    (
        "schet-faktura",
        "Счёт и закрывающие документы",
        "Юридическим лицам мы выставляем счёт и отправляем акт по электронной почте в конце месяца.",
        ["документы", "счёт"],
    ),
    (
        "adres-dostavki",
        "Изменение адреса доставки",
        "Адрес доставки можно изменить, пока заказ не передан в службу доставки.",
        ["доставка", "адрес"],
    ),
    (
        "promokod",
        "Промокод не работает",
        "Проверьте срок действия промокода и условия акции: промокоды не суммируются со скидками.",
        ["промокод", "скидка"],
    ),
    (
        "bonusy",
        "Бонусные баллы",
        "Баллы начисляются за каждую покупку и сгорают через год. Ими можно оплатить до 30% заказа.",
        ["бонусы"],
    ),
    (
        "garantiya",
        "Гарантия на товар",
        "На всю технику действует гарантия производителя 12 месяцев. Сохраните чек.",
        ["гарантия"],
    ),
    (
        "obmen-tovara",
        "Обмен товара",
        "Обменять товар надлежащего качества можно в течение 14 дней, если он не был в употреблении.",
        ["обмен"],
    ),
    (
        "status-zakaza",
        "Где мой заказ",
        "Статус заказа и трек-номер видны в разделе «Мои заказы». Там же можно отследить посылку.",
        ["заказ", "отслеживание"],
    ),
    (
        "kurier-ne-priehal",
        "Курьер не приехал",
        "Если курьер не приехал в назначенное время, напишите нам: мы перенесём доставку бесплатно.",
        ["доставка", "курьер"],
    ),
    (
        "oplata-ne-proshla",
        "Платёж не проходит",
        "Если платёж отклонён, проверьте баланс карты и лимиты банка или попробуйте другую карту.",
        ["оплата", "ошибка"],
    ),
    (
        "chek",
        "Электронный чек",
        "Электронный чек приходит на почту сразу после оплаты. Его можно скачать в истории заказов.",
        ["чек"],
    ),
    (
        "smena-email",
        "Смена электронной почты",
        "Новую почту укажите в профиле и подтвердите её по ссылке из письма.",
        ["профиль", "почта"],
    ),
    (
        "blokirovka",
        "Аккаунт заблокирован",
        "Аккаунт блокируется после пяти неверных попыток ввода кода. Блокировка снимается через час.",
        ["аккаунт", "блокировка"],
    ),
    (
        "rassrochka",
        "Покупка в рассрочку",
        "Рассрочка на 6 месяцев без переплаты доступна при покупке от 10 000 рублей.",
        ["оплата", "рассрочка"],
    ),
    (
        "samovyvoz",
        "Самовывоз из пункта выдачи",
        "Заказ хранится в пункте выдачи 5 дней. Возьмите с собой паспорт и код получения.",
        ["доставка", "самовывоз"],
    ),
    (
        "zhaloba",
        "Как оставить жалобу",
        "Жалобу можно оставить в чате поддержки: мы ответим в течение суток и разберёмся.",
        ["жалоба"],
    ),
    (
        "yazyk-interfeisa",
        "Язык приложения",
        "Язык интерфейса меняется в настройках: доступны русский и английский.",
        ["настройки"],
    ),
    (
        "personalnye-dannye",
        "Обработка персональных данных",
        "Мы храним персональные данные в России и не передаём их третьим лицам без согласия.",
        ["данные"],
    ),
    (
        "tarify",
        "Тарифы и цены",
        "Актуальные тарифы опубликованы на сайте. Цена фиксируется в момент оформления заказа.",
        ["тарифы"],
    ),
]

EN = [
    (
        "login-problems",
        "Cannot log in",
        "If you cannot sign in to your account, check the phone number and request a new code. Logging in needs a working connection.",
        ["login", "account"],
    ),
    (
        "password-reset",
        "Resetting your password",
        "Forgot your password? Tap 'Forgot password' on the sign-in screen and follow the link we e-mail you.",
        ["password"],
    ),
    (
        "card-payment",
        "Paying by card",
        "We accept Visa, Mastercard and Amex. Card payments go through the bank's secure gateway.",
        ["payment", "card"],
    ),
    (
        "refunds",
        "Refunds",
        "A refund reaches your card within 10 business days. Request one from the Orders page.",
        ["refund", "money"],
    ),
    (
        "delivery-times",
        "Delivery times",
        "Delivery within the city takes 1-2 days, nationwide up to 7 days. The courier calls ahead.",
        ["delivery"],
    ),
    (
        "cancel-order",
        "Cancelling an order",
        "You can cancel an order until it is handed to the courier. The money is returned automatically.",
        ["order"],
    ),
    (
        "change-phone",
        "Changing your phone number",
        "Open your profile and tap 'Change number'; we send a confirmation code to the new number.",
        ["profile", "phone"],
    ),
    (
        "delete-account",
        "Deleting your account",
        "Delete your account in the profile settings. Your data is erased for good after 30 days.",
        ["account"],
    ),
    (
        "notifications",
        "Notifications do not arrive",
        "Allow notifications in your phone's settings and check that Do Not Disturb is off.",
        ["notifications"],
    ),
    (
        "two-factor",
        "Two-factor authentication",
        "Turn on the second factor in security settings; codes then come from your authenticator app.",
        ["security"],
    ),
    (
        "app-crashes",
        "The app crashes",
        "If the app closes by itself, update it to the latest version and restart your phone.",
        ["error", "app"],
    ),
    (
        "subscription",
        "Managing your subscription",
        "Renew, pause or cancel your subscription on the Subscription page. You are charged monthly.",
        ["subscription"],
    ),
    (
        "invoices",
        "Invoices and receipts for companies",
        "Companies receive an invoice and a statement by e-mail at the end of each month.",
        ["invoice"],
    ),
    (
        "shipping-address",
        "Changing the shipping address",
        "You can change the shipping address until the order is with the delivery service.",
        ["delivery", "address"],
    ),
    (
        "promo-codes",
        "A promo code does not work",
        "Check the promo code's expiry date and terms: promo codes do not combine with discounts.",
        ["promo", "discount"],
    ),
    (
        "bonus-points",
        "Bonus points",
        "Points are earned on every purchase and expire after a year. They pay for up to 30% of an order.",
        ["bonus"],
    ),
    (
        "warranty",
        "Product warranty",
        "All electronics carry the manufacturer's 12-month warranty. Keep your receipt.",
        ["warranty"],
    ),
    (
        "exchanges",
        "Exchanging an item",
        "Unused items can be exchanged within 14 days.",
        ["exchange"],
    ),
    (
        "track-order",
        "Where is my order",
        "The order status and tracking number are on the My orders page, where you can track the parcel.",
        ["order", "tracking"],
    ),
    (
        "courier-missed",
        "The courier did not come",
        "If the courier missed the time slot, write to us: we reschedule the delivery for free.",
        ["delivery", "courier"],
    ),
    (
        "payment-declined",
        "A payment is declined",
        "If a payment is declined, check the card balance and bank limits or try another card.",
        ["payment", "error"],
    ),
    (
        "account-locked",
        "Account locked",
        "An account is locked after five wrong codes. The lock is lifted after an hour.",
        ["account"],
    ),
    (
        "pickup-points",
        "Collecting from a pickup point",
        "Orders wait at the pickup point for 5 days. Bring an ID and the collection code.",
        ["delivery", "pickup"],
    ),
    (
        "complaints",
        "How to file a complaint",
        "File a complaint in the support chat: we answer within a day and look into it.",
        ["complaint"],
    ),
    (
        "app-language",
        "App language",
        "Change the interface language in settings: Russian and English are available.",
        ["settings"],
    ),
    (
        "privacy",
        "How we handle personal data",
        "Personal data is stored securely and never shared with third parties without consent.",
        ["privacy"],
    ),
]

ARTICLES = [Source(slug, title, body, "ru", tags) for slug, title, body, tags in RU] + [
    Source(slug, title, body, "en", tags) for slug, title, body, tags in EN
]

# A client's words → the article that answers them (other word forms, other roots).
EXPECTED = [
    ("не могу войти", "vhod-v-sistemu"),
    ("не получается зайти в личный кабинет", "vhod-v-sistemu"),
    ("забыла пароль что делать", "vosstanovlenie-parolya"),
    ("как оплатить картой", "oplata-kartoy"),
    ("хочу вернуть деньги за покупку", "vozvrat-sredstv"),
    ("какой срок доставки", "dostavka-sroki"),
    ("отменить заказы", "otmena-zakaza"),
    ("поменять номер телефона", "smena-nomera"),
    ("удалить аккаунт навсегда", "udalenie-akkaunta"),
    ("не приходят уведомления", "uvedomleniya"),
    ("приложение постоянно вылетает", "prilozhenie-vyletaet"),
    ("отключить подписку", "podpiska"),
    ("промокоды не работают", "promokod"),
    ("курьер так и не приехал", "kurier-ne-priehal"),
    ("платежи отклоняются", "oplata-ne-proshla"),
    ("аккаунт заблокировали", "blokirovka"),
    ("где посылка, трек-номер", "status-zakaza"),
    ("I can't log in", "login-problems"),
    ("cannot sign in to my account", "login-problems"),
    ("forgot my passwords", "password-reset"),
    ("how do I pay with a card", "card-payment"),
    ("refund my money", "refunds"),
    ("cancelled orders", "cancel-order"),
    ("notification not arriving", "notifications"),
    ("app keeps crashing", "app-crashes"),
    ("my payments are declined", "payment-declined"),
    ("tracking my parcel", "track-order"),
    ("the courier never came", "courier-missed"),
]
